import XCTest

@testable import WorkerPool

final class RestartBackoffTests: XCTestCase {
    /// Workers that crash as soon as they start (a store they refuse, a bad binary): every restart
    /// the backoff allows crashes `crashGap` seconds later. Returns the pauses of the first storms.
    private func pausesOfAContinuousStorm(storms: Int, crashGap: Double = 0.05) -> [Double] {
        var backoff = RestartBackoff(limit: 10, window: 10)
        var time = 0.0
        var pauses: [Double] = []
        while pauses.count < storms {
            time = max(time, backoff.restartsAllowedAt) + crashGap
            XCTAssertTrue(backoff.mayRestart(at: time - crashGap))
            if let pause = backoff.noteCrash(at: time) {
                XCTAssertFalse(backoff.mayRestart(at: time + pause - 0.001), "a restart within the pause")
                pauses.append(pause)
            }
        }
        return pauses
    }

    func testAStormThatGoesOnDoublesThePauseFromOneSecondToThirty() {
        XCTAssertEqual(pausesOfAContinuousStorm(storms: 8), [1, 2, 4, 8, 16, 30, 30, 30])
    }

    func testTheLimitIsMoreThanTenCrashesWithinTheWindow() {
        var backoff = RestartBackoff(limit: 10, window: 10)
        for second in 0..<10 { XCTAssertNil(backoff.noteCrash(at: Double(second))) }
        // The first of them left the window (more than 10 s ago): still ten.
        XCTAssertNil(backoff.noteCrash(at: 10.5))
        XCTAssertTrue(backoff.mayRestart(at: 10.5))
        XCTAssertEqual(backoff.noteCrash(at: 10.6), 1)
        XCTAssertFalse(backoff.mayRestart(at: 11.5))
        XCTAssertTrue(backoff.mayRestart(at: 11.6))
    }

    func testThePauseStartsOverOnlyAfterAWholeWindowWithoutACrashOnceRestartsResumed() {
        var backoff = RestartBackoff(limit: 10, window: 10)
        var time = 0.0
        func storm() -> Double? {
            var started: Double?
            while started == nil {
                time = max(time, backoff.restartsAllowedAt) + 0.05
                started = backoff.noteCrash(at: time)
            }
            return started
        }
        XCTAssertEqual(storm(), 1)
        XCTAssertEqual(storm(), 2)
        XCTAssertEqual(storm(), 4)
        // Workers ran for 9 s after the pause, then crashed: not a quiet window, still a storm.
        time = backoff.restartsAllowedAt + 9
        XCTAssertEqual(storm(), 8)
        // A whole window without a crash once restarts resumed: the next storm starts from 1 s again.
        time = backoff.restartsAllowedAt + 10.5
        XCTAssertEqual(storm(), 1)
    }
}
