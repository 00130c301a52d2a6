package io.en57.nats;

/** NATS subjects: the token an event type becomes, and what a subject to publish to must be. */
final class Subjects {

  private Subjects() {}

  /** {@code type} with every character but ASCII letters, digits, - and _ replaced by _. */
  static String token(String type) {
    var token = new StringBuilder(type.length());
    type.codePoints().forEach(c -> token.append(isTokenCharacter(c) ? (char) c : '_'));
    return token.toString();
  }

  /**
   * Checks that {@code subject} can be published to: dot-separated non-empty tokens, no wildcard
   * ({@code *}, {@code >}), no whitespace or control character.
   *
   * @throws IllegalArgumentException naming {@code what} if it cannot
   */
  static void requireValid(String subject, String what) {
    String problem = problem(subject);
    if (problem != null) {
      throw new IllegalArgumentException(
          what + " '" + subject + "' is not a NATS subject to publish to: " + problem);
    }
  }

  /**
   * Whether {@code filter} (a stream's subject, with wildcards: {@code *} one token, a final {@code
   * >} one or more) takes {@code subject}.
   */
  static boolean matches(String filter, String subject) {
    String[] wanted = filter.split("\\.", -1);
    String[] tokens = subject.split("\\.", -1);
    for (int i = 0; i < wanted.length; i++) {
      if (wanted[i].equals(">") && i == wanted.length - 1) {
        return tokens.length > i;
      }
      if (i >= tokens.length || !(wanted[i].equals("*") || wanted[i].equals(tokens[i]))) {
        return false;
      }
    }
    return wanted.length == tokens.length;
  }

  private static String problem(String subject) {
    if (subject.isEmpty()) {
      return "it is empty";
    }
    if (subject.startsWith(".") || subject.endsWith(".") || subject.contains("..")) {
      return "it has an empty token";
    }
    for (int i = 0; i < subject.length(); i++) {
      char c = subject.charAt(i);
      if (c == '*' || c == '>') {
        return "it has a wildcard";
      }
      if (Character.isWhitespace(c) || Character.isISOControl(c)) {
        return "it has whitespace or a control character";
      }
    }
    return null;
  }

  private static boolean isTokenCharacter(int c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '_';
  }
}
