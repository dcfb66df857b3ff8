import VigilRuntime

/// Scalar built-in functions.
enum Functions {
    static func compile(_ name: String, _ args: [CompiledExpr]) -> CompiledExpr {
        func string(_ f: @escaping @Sendable (String) -> Value) -> CompiledExpr {
            let a = args[0]
            return { ctx in
                guard case .string(let s) = a(ctx) else { return .null }
                return f(s)
            }
        }
        func strings(_ f: @escaping @Sendable (String, String) -> Bool) -> CompiledExpr {
            let a = args[0], b = args[1]
            return { ctx in
                guard case .string(let x) = a(ctx), case .string(let y) = b(ctx) else { return .null }
                return .bool(f(x, y))
            }
        }
        switch name {
        case "lower": return string { .string($0.lowercased()) }
        case "upper": return string { .string($0.uppercased()) }
        case "trim": return string { .string(String($0.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())) }
        case "len": return string { .int(Int64($0.count)) }
        case "starts_with": return strings { $0.hasPrefix($1) }
        case "ends_with": return strings { $0.hasSuffix($1) }
        case "contains": return strings { $1.isEmpty || $0.contains($1) }
        case "cidr_match": return strings { CIDR.contains(network: $1, address: $0) }
        case "abs":
            let a = args[0]
            return { ctx in
                switch a(ctx) {
                case .int(let n): return .int(n == Int64.min ? n : Swift.abs(n))
                case .double(let d): return .double(Swift.abs(d))
                case .duration(let d): return .duration(d == Int64.min ? d : Swift.abs(d))
                default: return .null
                }
            }
        case "coalesce":
            return { ctx in
                for a in args {
                    let v = a(ctx)
                    if !v.isNull { return v }
                }
                return .null
            }
        case "hour", "day_of_week":
            let a = args[0]
            let hour = name == "hour"
            return { ctx in
                guard case .timestamp(let t) = a(ctx) else { return .null }
                let days = t >= 0 ? t / 86_400_000 : (t - 86_399_999) / 86_400_000
                if hour { return .int((t - days * 86_400_000) / 3_600_000) }
                // 1970-01-01 was a Thursday; Monday = 1 ... Sunday = 7 (ISO 8601).
                let dow = ((days % 7) + 7 + 3) % 7 + 1
                return .int(dow)
            }
        default:
            return { _ in .null }
        }
    }
}

/// IPv4 and IPv6 CIDR membership.
enum CIDR {
    static func contains(network: String, address: String) -> Bool {
        let parts = network.split(separator: "/", maxSplits: 1)
        guard let net = parse(String(parts[0])), let addr = parse(address), net.count == addr.count else { return false }
        let bits = parts.count == 2 ? Int(parts[1]) ?? -1 : net.count * 8
        guard bits >= 0, bits <= net.count * 8 else { return false }
        var remaining = bits
        for i in 0..<net.count {
            if remaining <= 0 { break }
            let mask: UInt8 = remaining >= 8 ? 0xFF : UInt8(0xFF << (8 - remaining) & 0xFF)
            if net[i] & mask != addr[i] & mask { return false }
            remaining -= 8
        }
        return true
    }

    static func parse(_ s: String) -> [UInt8]? {
        if s.contains(":") { return parseV6(s) }
        let octets = s.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var out: [UInt8] = []
        for o in octets {
            guard let v = UInt8(o) else { return nil }
            out.append(v)
        }
        return out
    }

    private static func parseV6(_ s: String) -> [UInt8]? {
        let halves = s.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for g in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

extension String {
    /// Splits on every occurrence of a separator (no Foundation here).
    func components(separatedBy sep: String) -> [String] {
        let chars = Array(self), sepChars = Array(sep)
        var out: [String] = []
        var current: [Character] = []
        var i = 0
        while i < chars.count {
            if i + sepChars.count <= chars.count, Array(chars[i..<(i + sepChars.count)]) == sepChars {
                out.append(String(current))
                current = []
                i += sepChars.count
            } else {
                current.append(chars[i])
                i += 1
            }
        }
        out.append(String(current))
        return out
    }
}
