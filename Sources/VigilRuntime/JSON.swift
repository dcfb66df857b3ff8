import VigilText

/// JSON text helpers shared by every output (alerts, dead letters, late events).
public enum JSON {
    /// A JSON string literal with the escapes RFC 8259 requires.
    public static func quote(_ s: String) -> String { jsonQuote(s) }

    /// `{"k":v,...}` from already-encoded values, in the given order.
    public static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
