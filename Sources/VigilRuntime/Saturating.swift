/// Event times come from input, so any Int64 may appear; time arithmetic saturates
/// instead of trapping, and the detector never crashes on an extreme timestamp.
extension Int64 {
    @inlinable public func plus(_ x: Int64) -> Int64 {
        let (r, o) = addingReportingOverflow(x)
        return o ? (x > 0 ? .max : .min) : r
    }

    @inlinable public func minus(_ x: Int64) -> Int64 {
        let (r, o) = subtractingReportingOverflow(x)
        return o ? (x < 0 ? .max : .min) : r
    }

    /// Division rounding toward negative infinity (window slots of times before 1970).
    @inlinable public func floorDivided(by b: Int64) -> Int64 {
        let q = self / b
        return (self % b != 0 && (self < 0) != (b < 0)) ? q - 1 : q
    }
}
