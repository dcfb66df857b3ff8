/// The declared fields of a stream as a tree of path segments, so a decoder walking a
/// nested JSON object knows at each key whether to read a slot, descend, or skip.
final class FieldPathTree: Sendable {
    enum Entry: Sendable {
        case slot(Int)
        case object(FieldPathTree)
    }

    let children: [String: Entry]

    init(children: [String: Entry]) {
        self.children = children
    }

    /// Builds the tree for `schema` (`process.parent.name` nests under `process`).
    static func build(_ fields: [StreamSchema.Field]) -> FieldPathTree {
        build(fields.enumerated().map { (Array($0.element.name.split(separator: ".").map(String.init)), $0.offset) })
    }

    private static func build(_ paths: [([String], Int)]) -> FieldPathTree {
        var groups: [String: [([String], Int)]] = [:]
        var order: [String] = []
        var children: [String: Entry] = [:]
        for (segments, slot) in paths {
            guard let head = segments.first else { continue }
            if segments.count == 1 {
                children[head] = .slot(slot)
            } else {
                if groups[head] == nil { order.append(head) }
                groups[head, default: []].append((Array(segments.dropFirst()), slot))
            }
        }
        for head in order where children[head] == nil {
            children[head] = .object(build(groups[head]!))
        }
        return FieldPathTree(children: children)
    }
}
