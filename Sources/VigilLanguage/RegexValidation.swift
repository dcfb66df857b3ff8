import VigilRegex

/// The front end's view of PCRE2: does a pattern compile, and if not, where did it stop.
enum CompiledRegexValidation {
    static let supportedFlags = Set(CompiledRegex.supportedFlags.keys)

    static func validate(pattern: String, flags: String) -> (message: String, offset: Int?)? {
        do {
            _ = try CompiledRegex(pattern: pattern, flags: flags)
            return nil
        } catch {
            return (error.message, error.patternOffset)
        }
    }
}
