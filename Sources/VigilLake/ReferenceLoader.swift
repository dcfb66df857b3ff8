import Foundation
import VigilConnectors
import VigilRuntime

/// Loads the rows of a reference table from where its declaration points: a CSV or
/// JSON Lines file (decoded against the declared columns, like events), or a Delta
/// table directory (its active files, columns matched by name).
public enum ReferenceLoader {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `base`: the directory relative paths are resolved against.
    public static func load(_ spec: ReferenceSpec, base: String = FileManager.default.currentDirectoryPath) throws(Failure) -> ReferenceTable {
        let path = spec.path.hasPrefix("/") ? spec.path : (base as NSString).appendingPathComponent(spec.path)
        let fail = { (why: String) in Failure(description: "reference table `\(spec.name)` (\(spec.path)): \(why)") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw fail("no such file or directory (relative paths are read from \(base))")
        }
        var rows: [[Value]] = []
        var positions: [Int] = []
        if isDirectory.boolValue {
            guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("_delta_log")) else {
                throw fail("a directory without _delta_log is not a Delta table")
            }
            let content: (columns: [ParquetColumn], rows: [[Value]])
            do { content = try DeltaTable.read(path: path) } catch { throw fail(error.description) }
            var map: [Int?] = []
            for f in spec.schema.fields where !content.rows.isEmpty {
                guard let i = content.columns.firstIndex(where: { $0.name == f.name }) else { throw fail("the table has no column `\(f.name)`") }
                map.append(i)
            }
            for (n, r) in content.rows.enumerated() {
                rows.append(zip(map, spec.schema.fields).map { i, f in Self.convert(r[i!], to: f.type) })
                positions.append(n + 1)
            }
        } else {
            let source = EventSource(stream: 0, path: path, format: .guess(path), inputIndex: 0)
            var problem: String?
            do {
                try source.read(schemas: [spec.schema]) { item, _ in
                    switch item {
                    case .event(let e):
                        rows.append(e.values)
                        positions.append(Int(e.origin.line))
                    case .deadLetter(let d):
                        if problem == nil { problem = "line \(d.line): \(d.reason)" }
                    }
                }
            } catch {
                throw fail("\(error)")
            }
            if let problem { throw fail(problem) }
        }
        do { return try ReferenceTable(spec: spec, rows: rows, positions: positions) } catch {
            throw fail("key \(error.key.json) appears twice (\(isDirectory.boolValue ? "rows" : "lines") \(error.first) and \(error.second))")
        }
    }

    /// Delta stores Vigil's ints as int64 and durations as milliseconds.
    static func convert(_ v: Value, to type: FieldType) -> Value {
        switch (v, type) {
        case (.int(let n), .duration): .duration(n)
        case (.int(let n), .double): .double(Double(n))
        default: v
        }
    }
}
