import Foundation
import VigilLanguage

/// Finds and reads rule files named on the command line.
enum RuleFiles {
    struct Failure: Error {
        let message: String
    }

    /// Reads each path; a directory contributes its `*.vigil` files, recursively and sorted.
    static func load(_ paths: [String]) throws(Failure) -> [SourceFile] {
        var files: [SourceFile] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw Failure(message: "cannot read `\(path)`: no such file or directory")
            }
            if isDirectory.boolValue {
                guard let walker = fm.enumerator(atPath: path) else {
                    throw Failure(message: "cannot read directory `\(path)`")
                }
                let found = walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".vigil") }.sorted()
                if found.isEmpty {
                    throw Failure(message: "no `*.vigil` files in `\(path)`")
                }
                for rel in found {
                    let full = path.hasSuffix("/") ? path + rel : path + "/" + rel
                    files.append(try read(full))
                }
            } else {
                files.append(try read(path))
            }
        }
        return files
    }

    private static func read(_ path: String) throws(Failure) -> SourceFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(message: "cannot read `\(path)`: permission denied or not a regular file")
        }
        return SourceFile(path: path, bytes: [UInt8](data))
    }
}
