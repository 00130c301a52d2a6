package io.en57.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS context of the benchmark's forwarding nodes: one self-signed key made by the JDK's {@code
 * keytool} for the run, which every node presents and trusts, as an application's nodes would share
 * one certificate.
 */
final class NodesTls {

  private static final char[] PASSWORD = "en57-bench".toCharArray();
  private static SSLContext context;

  private NodesTls() {}

  static synchronized SSLContext context() {
    if (context == null) {
      try {
        context = create();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (GeneralSecurityException | InterruptedException e) {
        throw new IllegalStateException("could not make the nodes' TLS key: " + e, e);
      }
    }
    return context;
  }

  private static SSLContext create()
      throws IOException, GeneralSecurityException, InterruptedException {
    Path dir = Files.createTempDirectory("en57-bench-tls-");
    Path keystore = dir.resolve("nodes.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Process process =
        new ProcessBuilder(
                keytool,
                "-genkeypair",
                "-alias",
                "node",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=en57-bench-nodes",
                "-validity",
                "1",
                "-storetype",
                "PKCS12",
                "-keystore",
                keystore.toString(),
                "-storepass",
                new String(PASSWORD))
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes());
    if (process.waitFor() != 0) {
      throw new IllegalStateException("keytool failed: " + output);
    }
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      keys.load(in, PASSWORD);
    } finally {
      Files.delete(keystore);
      Files.delete(dir);
    }
    var keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, PASSWORD);
    // The key's own certificate is the one trusted: the JDK trusts the certificates of key entries.
    var trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(keys);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
    return tls;
  }
}
