package io.en57.internal;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.Set;

/**
 * The connection a projection handler gets: the runner's transaction, which only the runner may
 * end, so the calls that would commit, roll back, close or leave it are refused.
 */
final class HandlerConnection implements InvocationHandler {

  private static final Set<String> REFUSED =
      Set.of("commit", "rollback", "close", "abort", "setAutoCommit");

  private final Connection connection;

  private HandlerConnection(Connection connection) {
    this.connection = connection;
  }

  static Connection guard(Connection connection) {
    return (Connection)
        Proxy.newProxyInstance(
            Connection.class.getClassLoader(),
            new Class<?>[] {Connection.class},
            new HandlerConnection(connection));
  }

  @Override
  public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
    boolean toSavepoint = method.getName().equals("rollback") && args != null && args.length == 1;
    if (REFUSED.contains(method.getName()) && !toSavepoint) {
      throw new IllegalStateException(
          "a projection handler must not call "
              + method.getName()
              + "(): the runner commits the batch with the checkpoint, or rolls both back");
    }
    try {
      return method.invoke(connection, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
