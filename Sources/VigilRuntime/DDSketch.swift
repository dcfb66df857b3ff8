/// A DDSketch (Masson, Rim, Lee, VLDB 2019): quantiles with a guaranteed relative error
/// of `alpha`, mergeable, and small — values fall into logarithmic buckets. Used for
/// `p50`, `p95`, `p99`.
public struct DDSketch: Sendable, Codable, Equatable {
    /// Relative accuracy: a reported quantile is within 1% of a true value of that rank.
    public static let alpha = 0.01
    static let gamma = (1 + alpha) / (1 - alpha)
    static let logGamma = log(gamma)

    /// Bucket index -> count, for positive values and for the magnitudes of negative ones.
    var positive: [Int32: Int64] = [:]
    var negative: [Int32: Int64] = [:]
    var zeros: Int64 = 0
    public private(set) var count: Int64 = 0

    public init() {}

    /// - Complexity: O(1).
    public mutating func add(_ x: Double) {
        guard x.isFinite else { return }
        count += 1
        if x == 0 { zeros += 1; return }
        let key = Int32((log(abs(x)) / Self.logGamma).rounded(.up))
        if x > 0 { positive[key, default: 0] += 1 } else { negative[key, default: 0] += 1 }
    }

    /// Adds every value `other` holds (sketches with the same accuracy merge exactly).
    public mutating func merge(_ other: DDSketch) {
        count += other.count
        zeros += other.zeros
        positive.merge(other.positive, uniquingKeysWith: +)
        negative.merge(other.negative, uniquingKeysWith: +)
    }

    /// The value at quantile `q` (0...1), or nil when empty.
    ///
    /// - Complexity: O(buckets log buckets).
    public func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        // Nearest rank, as `Aggregates.apply` computes it exactly.
        let rank = max(1, Int64((q * Double(count)).rounded(.up)))
        var seen: Int64 = 0
        for key in negative.keys.sorted(by: >) {
            seen += negative[key]!
            if seen >= rank { return -Self.value(key) }
        }
        seen += zeros
        if seen >= rank { return 0 }
        for key in positive.keys.sorted() {
            seen += positive[key]!
            if seen >= rank { return Self.value(key) }
        }
        return nil
    }

    /// The representative value of a bucket: within `alpha` of every value in it.
    static func value(_ key: Int32) -> Double {
        2 * pow(gamma, Double(key)) / (gamma + 1)
    }
}

#if canImport(Glibc)
import Glibc
#endif
