package io.en57.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DatabaseUrlTest {

  @Test
  void jdbcUrlsPassThrough() {
    var url = DatabaseUrl.parse("jdbc:postgresql://db:5432/app?user=u&password=p");
    assertThat(url)
        .isEqualTo(new DatabaseUrl("jdbc:postgresql://db:5432/app?user=u&password=p", null, null));
  }

  @Test
  void postgresUrlsBecomeJdbcWithUserAndPassword() {
    assertThat(
            DatabaseUrl.parse("postgres://alice:s3cret@db.example.com:6543/events?sslmode=require"))
        .isEqualTo(
            new DatabaseUrl(
                "jdbc:postgresql://db.example.com:6543/events?sslmode=require", "alice", "s3cret"));
    assertThat(DatabaseUrl.parse("postgresql://db/events"))
        .isEqualTo(new DatabaseUrl("jdbc:postgresql://db/events", null, null));
    assertThat(DatabaseUrl.parse("postgres://bob@[::1]:5432/x"))
        .isEqualTo(new DatabaseUrl("jdbc:postgresql://[::1]:5432/x", "bob", null));
    assertThat(DatabaseUrl.parse("postgres://bob@db").jdbcUrl()).isEqualTo("jdbc:postgresql://db/");
  }

  @Test
  void hostsThatAreNoInternetHostNamesAreTakenAsTheDriverTakesThem() {
    // A Compose service name, and libpq's list of hosts to try in turn.
    assertThat(DatabaseUrl.parse("postgres://app:pw@postgres_db:5432/shop"))
        .isEqualTo(new DatabaseUrl("jdbc:postgresql://postgres_db:5432/shop", "app", "pw"));
    assertThat(DatabaseUrl.parse("postgresql://app@h1:5432,h2:5433/shop?targetServerType=primary"))
        .isEqualTo(
            new DatabaseUrl(
                "jdbc:postgresql://h1:5432,h2:5433/shop?targetServerType=primary", "app", null));
    assertThatThrownBy(() -> DatabaseUrl.parse("postgres://app:hunter2@:5432/shop"))
        .hasMessageContaining("no host")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void percentEncodedCredentialsAreDecoded() {
    var url = DatabaseUrl.parse("postgres://us%40er:p%3Aa%2Fss+word%25@db/app");
    assertThat(url.user()).isEqualTo("us@er");
    assertThat(url.password()).isEqualTo("p:a/ss+word%");
  }

  @Test
  void otherUrlsAreRejectedWithoutEchoingThem() {
    assertThatThrownBy(() -> DatabaseUrl.parse("mysql://root:hunter2@db/app"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("postgres://")
        .hasMessageNotContaining("hunter2");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgres:///app")).hasMessageContaining("no host");
    assertThatThrownBy(() -> DatabaseUrl.parse("jdbc:postgresql://db:abc/app?password=hunter2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot parse")
        .hasMessageNotContaining("hunter2");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgres://a b@db/x"))
        .hasMessageContaining("not a valid URI");
  }

  @Test
  void toStringHidesThePassword() {
    assertThat(DatabaseUrl.parse("postgres://alice:s3cret@db/app").toString())
        .doesNotContain("s3cret");
  }
}
