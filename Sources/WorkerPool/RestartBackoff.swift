/// When the supervisor may start workers again after crashes (docs/operations.md, "restart storm").
///
/// Crashed workers are replaced at once until more than `limit` crashes fall within `window`
/// seconds: a restart storm. Restarts then pause, 1 s for the first storm and twice as long for each
/// storm that follows, at most `maximum`. The pause starts over from 1 s only once the workers have
/// run a whole window without a crash after restarts resumed. That quiet time is counted from the
/// end of the pause, not from the last crash: nothing crashes while nothing runs, so a pause longer
/// than the window would otherwise end every storm by itself (and a reset at the first crash of a
/// window, as this used to do, kept the pause at 1 s however long the storm went on).
public struct RestartBackoff: Sendable {
    public let limit: Int
    public let window: Double
    public let maximum: Double
    /// The pause the last storm started (0 before any).
    public private(set) var pause: Double = 0
    /// No worker may start before this time (seconds on the caller's monotonic clock).
    public private(set) var restartsAllowedAt: Double = -.infinity
    private var crashTimes: [Double] = []
    private var lastCrash = -Double.infinity

    public init(limit: Int, window: Double, maximum: Double = 30) {
        self.limit = limit
        self.window = window
        self.maximum = maximum
    }

    public func mayRestart(at time: Double) -> Bool { time >= restartsAllowedAt }

    /// Records a crash at `time`; returns the pause it starts when it makes a storm.
    public mutating func noteCrash(at time: Double) -> Double? {
        if time - max(lastCrash, restartsAllowedAt) > window { pause = 0 }
        lastCrash = time
        crashTimes.append(time)
        crashTimes.removeAll { $0 < time - window }
        guard crashTimes.count > limit else { return nil }
        pause = min(max(pause * 2, 1), maximum)
        restartsAllowedAt = time + pause
        crashTimes.removeAll()
        return pause
    }
}
