import CSystemShims

/// The version of this build: `partnerships --version`, and the supervisor's first log line.
public enum BuildInfo {
    /// The release this source tree is; raised by hand when a release is cut.
    public static let version = "0.1.0"

    /// `git describe --always --dirty` of the tree it was built from, when the build was given it
    /// (the deploy scripts do: PARTNERSHIPS_BUILD_COMMIT); nil for a build that was not.
    public static var commit: String? {
        let text = String(cString: partnerships_build_commit())
        return text.isEmpty ? nil : text
    }

    /// `partnerships 0.1.0 (commit 0469d50a1b2c)`, or `(commit unknown)`.
    public static var description: String {
        "partnerships \(version) (commit \(commit ?? "unknown"))"
    }
}
