/// The step kinds of a plugin, in run order: `pre` (prepare: slow work that blocks no application),
/// `hold` (the short blocking step, taken last, right before the freeze), `release` (right after
/// the thaw, in reverse), `post` (finish, in reverse). A plugin without a hold stage quiesces in
/// `pre` and resumes in `post`.
package enum Phase: String, Sendable, Codable, Hashable, CaseIterable {
    case pre, hold, release, post

    /// The position in run order (pre 0, hold 1, release 2, post 3).
    package var order: Int { Self.allCases.firstIndex(of: self)! }
}
