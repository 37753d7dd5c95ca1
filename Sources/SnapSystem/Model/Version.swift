/// The product version.
package enum Version {
    /// Semantic version of this build.
    package static let current = "0.1.0"
}
