package io.en57.routing;

import io.en57.EventStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Maps a key (a tenant, a bounded context) to the {@link EventStore} of its log, as configuration
 * says: each route names a {@link LogLocation}, a database URL and a schema, so the logs may share
 * a database, live in several databases of one server, or on several servers.
 *
 * <pre>{@code
 * try (EventStoreRouter logs = EventStoreRouter.builder()
 *     .route("billing", "postgres://db1:5432/shop#billing")
 *     .route("shipping", "postgres://db2:5432/shop#shipping")
 *     .defaultRoute("postgres://db1:5432/shop")
 *     .build()) {
 *   logs.store("billing").append(List.of(Event.of("InvoiceIssued")));
 * }
 * }</pre>
 *
 * <p>Each log keeps every guarantee of a store on its own: its positions follow its commit order,
 * and a conditional append is safe against every concurrent writer of that log. Nothing spans two
 * logs: <strong>a decision (an append's condition) sees only the events of its own log, so it
 * cannot span two logs</strong>, no append is atomic across logs, and the positions of different
 * logs are unrelated (position 7 of one log says nothing about position 7 of another). Route so
 * that every consistency boundary lies within one log.
 *
 * <p>Routes that name the same URL and schema share one store. {@link Builder#build()} opens every
 * store (a store refuses a log that is not migrated), and {@link #close()} closes them all.
 * Thread-safe; the routes do not change after {@link Builder#build()}.
 */
public final class EventStoreRouter implements AutoCloseable {

  private final Map<String, EventStore> routes;
  private final EventStore defaultStore;
  private final List<EventStore> stores;
  private boolean closed; // guarded by this

  private EventStoreRouter(
      Map<String, EventStore> routes, EventStore defaultStore, List<EventStore> stores) {
    this.routes = Map.copyOf(routes);
    this.defaultStore = defaultStore;
    this.stores = List.copyOf(stores);
  }

  /** A builder of routes. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * A router whose routes {@code routes} gives, key to {@link LogLocation#parse location}, such as
   * {@code "billing" -> "postgres://db1:5432/shop#billing"}, with no default route; each store is
   * opened with {@link EventStore#builder()}'s defaults.
   */
  public static EventStoreRouter of(Map<String, String> routes) {
    return builder().routes(routes).build();
  }

  /**
   * The store of {@code key}'s log: its route's, or the default route's when it has none.
   *
   * @throws IllegalArgumentException if no route names {@code key} and there is no default route
   * @throws IllegalStateException if the router is closed
   */
  public EventStore store(String key) {
    Objects.requireNonNull(key, "key must not be null");
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("the router is closed");
      }
    }
    EventStore store = routes.get(key);
    if (store != null) {
      return store;
    }
    if (defaultStore != null) {
      return defaultStore;
    }
    throw new IllegalArgumentException(
        "no route for key \"" + key + "\" and no default route; the routes are " + keys());
  }

  /** The keys that have a route of their own, sorted. */
  public Set<String> keys() {
    return new TreeSet<>(routes.keySet());
  }

  /** Closes every store the router opened; a later {@link #store} call fails. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    RuntimeException failure = null;
    for (EventStore store : stores) {
      try {
        store.close();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Collects routes; not thread-safe. */
  public static final class Builder {

    private final Map<String, LogLocation> routes = new LinkedHashMap<>();
    private LogLocation defaultRoute;
    private Function<LogLocation, EventStore> opener =
        location -> EventStore.builder().schema(location.schema()).forUrl(location.url());

    private Builder() {}

    /**
     * Routes {@code key} to the log at {@code location}: a database URL whose fragment names the
     * schema ({@code postgres://db1:5432/shop#billing}), schema {@code en57} without one.
     *
     * @throws IllegalArgumentException if the key is blank or already routed, or the location is
     *     not such a URL
     */
    public Builder route(String key, String location) {
      return route(key, LogLocation.parse(location));
    }

    /** Routes {@code key} to the log at {@code location}. See {@link #route(String, String)}. */
    public Builder route(String key, LogLocation location) {
      Objects.requireNonNull(key, "key must not be null");
      Objects.requireNonNull(location, "location must not be null");
      if (key.isBlank()) {
        throw new IllegalArgumentException("a route's key must not be blank");
      }
      if (routes.putIfAbsent(key, location) != null) {
        throw new IllegalArgumentException("key \"" + key + "\" is routed twice");
      }
      return this;
    }

    /** Routes every key of {@code routes} to its location. See {@link #route(String, String)}. */
    public Builder routes(Map<String, String> routes) {
      Objects.requireNonNull(routes, "routes must not be null");
      routes.forEach(this::route);
      return this;
    }

    /**
     * Routes every property named {@code prefix} + key, such as {@code en57.routes.billing =
     * postgres://db1:5432/shop#billing} for prefix {@code en57.routes.}; the property {@code
     * prefix} + {@code *}, if any, is the default route.
     */
    public Builder routes(Properties properties, String prefix) {
      Objects.requireNonNull(properties, "properties must not be null");
      Objects.requireNonNull(prefix, "prefix must not be null");
      for (String name : new TreeSet<>(properties.stringPropertyNames())) {
        if (!name.startsWith(prefix)) {
          continue;
        }
        String key = name.substring(prefix.length());
        if (key.equals("*")) {
          defaultRoute(properties.getProperty(name));
        } else {
          route(key, properties.getProperty(name));
        }
      }
      return this;
    }

    /** The log of every key without a route of its own; without it, such keys are refused. */
    public Builder defaultRoute(String location) {
      return defaultRoute(LogLocation.parse(location));
    }

    /** The log of every key without a route of its own. */
    public Builder defaultRoute(LogLocation location) {
      this.defaultRoute = Objects.requireNonNull(location, "location must not be null");
      return this;
    }

    /**
     * How a log's store is opened, once per distinct location; by default {@code
     * EventStore.builder().schema(location.schema()).forUrl(location.url())}. Pass your own to set
     * options (payload types, pool size, timeouts) or to borrow a pool with {@code forDataSource};
     * the store it returns must be on the location's schema, and the router closes it.
     */
    public Builder opener(Function<LogLocation, EventStore> opener) {
      this.opener = Objects.requireNonNull(opener, "opener must not be null");
      return this;
    }

    /**
     * Opens a store per distinct location, routes that name the same location sharing it.
     *
     * @throws IllegalStateException if there are no routes at all
     * @throws io.en57.SchemaNotReadyException if a log is not migrated (the stores opened so far
     *     are closed)
     * @throws IllegalArgumentException if the opener returns a store on another schema than its
     *     location's (that store and those opened so far are closed)
     */
    public EventStoreRouter build() {
      if (routes.isEmpty() && defaultRoute == null) {
        throw new IllegalStateException("a router needs at least one route or a default route");
      }
      var opened = new LinkedHashMap<LogLocation, EventStore>();
      try {
        var byKey = new LinkedHashMap<String, EventStore>();
        routes.forEach(
            (key, location) -> byKey.put(key, open(opened, "route \"" + key + "\"", location)));
        EventStore defaultStore =
            defaultRoute == null ? null : open(opened, "the default route", defaultRoute);
        return new EventStoreRouter(byKey, defaultStore, new ArrayList<>(opened.values()));
      } catch (RuntimeException e) {
        for (EventStore store : opened.values()) {
          try {
            store.close();
          } catch (RuntimeException closing) {
            e.addSuppressed(closing);
          }
        }
        throw e;
      }
    }

    private EventStore open(
        Map<LogLocation, EventStore> opened, String route, LogLocation location) {
      EventStore store = opened.get(location);
      if (store == null) {
        store =
            Objects.requireNonNull(
                opener.apply(location), "the opener returned no store for " + location);
        // An opener that forgets .schema(location.schema()) opens schema en57: every route to that
        // database would then append to one log.
        if (!store.schema().equals(location.schema())) {
          var refused =
              new IllegalArgumentException(
                  route
                      + " names schema "
                      + location.schema()
                      + " ("
                      + location
                      + "), but the opener returned a store on schema "
                      + store.schema()
                      + "; open it with EventStore.builder().schema(location.schema())");
          try {
            store.close();
          } catch (RuntimeException closing) {
            refused.addSuppressed(closing);
          }
          throw refused;
        }
        opened.put(location, store);
      }
      return store;
    }
  }
}
