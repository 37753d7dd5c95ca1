/// Budget arithmetic on spans, so that step and phase budgets are computed in one unit.
extension TimeSpan {
    /// The sum of two spans.
    package static func + (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan {
        TimeSpan(milliseconds: lhs.milliseconds + rhs.milliseconds)
    }

    /// `lhs` minus `rhs`, never below zero.
    package static func - (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan {
        TimeSpan(milliseconds: lhs.milliseconds - rhs.milliseconds)
    }

    /// The span `count` times over.
    package static func * (lhs: TimeSpan, count: Int) -> TimeSpan {
        TimeSpan(milliseconds: lhs.milliseconds * count)
    }

    /// The span divided into `count` parts (whole milliseconds).
    package static func / (lhs: TimeSpan, count: Int) -> TimeSpan {
        TimeSpan(milliseconds: lhs.milliseconds / count)
    }

    /// True for a span of zero.
    package var isZero: Bool { milliseconds == 0 }
}
