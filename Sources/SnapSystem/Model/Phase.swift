/// pre or post.
package enum Phase: String, Sendable, Codable, Hashable {
    case pre, post
}
