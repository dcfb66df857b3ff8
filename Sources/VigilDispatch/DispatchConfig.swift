import Foundation
import Yams

/// The detector's dispatch configuration (`vigil run --config FILE`, YAML): channels,
/// routes from rules / severities / tags to channels, and defaults. See docs/alerts.md.
public struct DispatchConfig: Sendable {
    public enum ChannelSpec: Sendable {
        case stdout
        /// JSON Lines; `rotateBytes`: start a new file past this size, keeping `keep` old ones.
        case file(path: String, rotateBytes: Int64?, keep: Int)
        case webhook(WebhookSpec)
    }

    public struct WebhookSpec: Sendable {
        public var url: String
        /// `generic` (the alert JSON plus `processed_at`), `slack`, or a custom JSON text
        /// with `{{id}}`, `{{rule}}`, `{{severity}}`, `{{message}}`, `{{key}}`,
        /// `{{detected_at}}`, `{{processed_at}}`, `{{tags}}`, `{{alert}}` placeholders.
        public var template: String
        public var headers: [(String, String)]
        public var timeoutMs: Int64

        public init(url: String, template: String = "generic", headers: [(String, String)] = [], timeoutMs: Int64 = 10_000) {
            self.url = url
            self.template = template
            self.headers = headers
            self.timeoutMs = timeoutMs
        }
    }

    public struct Route: Sendable {
        public var rules: [String]?
        public var severities: [String]?
        public var tags: [String]?
        public var to: [String]

        public init(rules: [String]? = nil, severities: [String]? = nil, tags: [String]? = nil, to: [String]) {
            self.rules = rules
            self.severities = severities
            self.tags = tags
            self.to = to
        }

        public func matches(_ a: DispatchAlert) -> Bool {
            (rules.map { $0.contains(a.rule) } ?? true)
                && (severities.map { $0.contains(a.severity) } ?? true)
                && (tags.map { !Set($0).isDisjoint(with: a.tags) } ?? true)
        }
    }

    public var channels: [(name: String, spec: ChannelSpec)] = []
    public var routes: [Route] = []
    /// Suppression for rules that declare none (by their key); nil: none.
    public var suppressMs: Int64?
    public var matched: DispatchAlert.Matched?

    public init() {}

    public struct ConfigError: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var column: Int
        public var message: String
        public var description: String { "error: \(message)\n  --> \(path):\(line):\(column)\n" }
    }

    public static func parse(path: String, text: String) throws(ConfigError) -> DispatchConfig {
        func fail(_ n: Node?, _ message: String) -> ConfigError {
            ConfigError(path: path, line: n?.mark?.line ?? 1, column: n?.mark?.column ?? 1, message: message)
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw fail(nil, "the configuration is empty") }
            root = node
        } catch let e as ConfigError {
            throw e
        } catch let YamlError.scanner(_, problem, mark, _), let YamlError.parser(_, problem, mark, _) {
            throw ConfigError(path: path, line: mark.line, column: mark.column, message: "invalid YAML: \(problem)")
        } catch {
            throw fail(nil, "invalid YAML: \(error)")
        }
        guard let top = root.mapping else { throw fail(root, "the configuration must be a mapping") }
        var config = DispatchConfig()
        func scalar(_ n: Node, _ what: String) throws(ConfigError) -> String {
            guard let s = n.scalar?.string else { throw fail(n, "\(what) must be a single value") }
            return s
        }
        func list(_ n: Node, _ what: String) throws(ConfigError) -> [String] {
            if let s = n.scalar?.string { return [s] }
            guard let seq = n.sequence else { throw fail(n, "\(what) must be a value or a list") }
            var out: [String] = []
            for x in seq { out.append(try scalar(x, "each of \(what)")) }
            return out
        }
        for (k, v) in top {
            switch k.scalar?.string {
            case "channels":
                guard let m = v.mapping else { throw fail(v, "`channels` must map names to channels") }
                for (nameNode, spec) in m {
                    let name = try scalar(nameNode, "a channel name")
                    guard let sm = spec.mapping, let typeNode = sm["type"] else { throw fail(spec, "channel `\(name)` needs a `type` (stdout, file or webhook)") }
                    switch try scalar(typeNode, "`type`") {
                    case "stdout":
                        config.channels.append((name, .stdout))
                    case "file":
                        guard let p = sm["path"] else { throw fail(spec, "file channel `\(name)` needs a `path`") }
                        let rotate = try sm["rotate"].map { (n) throws(ConfigError) -> Int64 in
                            guard let b = Self.bytes(try scalar(n, "`rotate`")) else { throw fail(n, "`rotate` must be a size such as 10MB") }
                            return b
                        }
                        let keep = try sm["keep"].map { (n) throws(ConfigError) -> Int in
                            guard let k = Int(try scalar(n, "`keep`")), k >= 1 else { throw fail(n, "`keep` must be a positive number") }
                            return k
                        } ?? 5
                        config.channels.append((name, .file(path: try scalar(p, "`path`"), rotateBytes: rotate, keep: keep)))
                    case "webhook":
                        guard let u = sm["url"] else { throw fail(spec, "webhook channel `\(name)` needs a `url`") }
                        var w = WebhookSpec(url: try scalar(u, "`url`"))
                        guard w.url.hasPrefix("http://") || w.url.hasPrefix("https://") else { throw fail(u, "`url` must start with http:// or https://") }
                        if let t = sm["template"] { w.template = try scalar(t, "`template`") }
                        if let h = sm["headers"] {
                            guard let hm = h.mapping else { throw fail(h, "`headers` must map names to values") }
                            for (hk, hv) in hm { w.headers.append((try scalar(hk, "a header name"), try scalar(hv, "a header value"))) }
                        }
                        if let t = sm["timeout"] {
                            guard let ms = Self.duration(try scalar(t, "`timeout`")) else { throw fail(t, "`timeout` must be a duration such as 5s") }
                            w.timeoutMs = ms
                        }
                        config.channels.append((name, .webhook(w)))
                    case let other:
                        throw fail(typeNode, "unknown channel type `\(other)`; use stdout, file or webhook")
                    }
                }
            case "routes":
                guard let seq = v.sequence else { throw fail(v, "`routes` must be a list") }
                for r in seq {
                    guard let rm = r.mapping, let to = rm["to"] else { throw fail(r, "a route needs `to` (channel names)") }
                    var route = Route(to: try list(to, "`to`"))
                    if let when = rm["when"] {
                        guard let wm = when.mapping else { throw fail(when, "`when` must be a mapping of rules, severity and tags") }
                        for (wk, wv) in wm {
                            switch wk.scalar?.string {
                            case "rules", "rule": route.rules = try list(wv, "`rules`")
                            case "severity", "severities": route.severities = try list(wv, "`severity`")
                            case "tags", "tag": route.tags = try list(wv, "`tags`")
                            default: throw fail(wk, "unknown condition `\(wk.scalar?.string ?? "?")`; use rules, severity or tags")
                            }
                        }
                    }
                    config.routes.append(route)
                }
            case "suppress":
                guard let ms = Self.duration(try scalar(v, "`suppress`")) else { throw fail(v, "`suppress` must be a duration such as 10m") }
                config.suppressMs = ms
            case "matched":
                guard let m = DispatchAlert.Matched(rawValue: try scalar(v, "`matched`")) else { throw fail(v, "`matched` must be full, fields or none") }
                config.matched = m
            default:
                throw fail(k, "unknown key `\(k.scalar?.string ?? "?")`; expected channels, routes, suppress or matched")
            }
        }
        let names = Set(config.channels.map(\.name))
        for (i, r) in config.routes.enumerated() {
            for c in r.to where !names.contains(c) {
                throw fail(top["routes"]?.sequence?[i], "route \(i + 1) sends to `\(c)`, which is not a channel")
            }
        }
        return config
    }

    /// `10MB`, `512KB`, `1GB` or bytes.
    static func bytes(_ s: String) -> Int64? {
        let units: [(String, Int64)] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)]
        for (u, m) in units where s.uppercased().hasSuffix(u) {
            return Int64(s.dropLast(u.count).trimmingCharacters(in: .whitespaces)).map { $0 * m }
        }
        return Int64(s)
    }

    /// `500ms`, `5s`, `10m`, `1h`.
    public static func duration(_ s: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (u, m) in units where s.hasSuffix(u) {
            if let n = Int64(s.dropLast(u.count)), n >= 0 { return n * m }
        }
        return nil
    }
}
