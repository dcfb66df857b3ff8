/// Every diagnostic Vigil can report. Each code is documented with an example in
/// `docs/diagnostics.md`; a test keeps that page and this list in step.
public enum DiagnosticCode: String, CaseIterable, Sendable {
    // Lexical: V00xx
    case invalidUTF8 = "V0001"
    case unexpectedCharacter = "V0002"
    case unterminatedString = "V0003"
    case unterminatedRegex = "V0004"
    case invalidEscape = "V0005"
    case integerTooLarge = "V0006"
    case unknownDurationUnit = "V0007"
    case durationTooLarge = "V0008"
    case malformedNumber = "V0009"
    case emptyFile = "V0010"

    // Syntax: V01xx
    case expectedToken = "V0101"
    case expectedDeclaration = "V0102"
    case unknownClause = "V0103"
    case duplicateClause = "V0104"
    case nestingTooDeep = "V0105"
    case unclosedDelimiter = "V0106"
    case unexpectedClosingDelimiter = "V0107"
    case reservedWord = "V0108"
    case missingDurationUnit = "V0109"
    case chainedComparison = "V0110"
    case unknownSkipStrategy = "V0111"
    case invalidTemplate = "V0112"
    case missingClause = "V0113"

    // Names: V02xx
    case unknownStream = "V0201"
    case unknownField = "V0202"
    case unknownStep = "V0203"
    case unknownReference = "V0204"
    case duplicateDeclaration = "V0205"
    case duplicateField = "V0206"
    case duplicateStep = "V0207"
    case forwardStepReference = "V0208"
    case selfStepReference = "V0209"
    case negatedStepReference = "V0210"
    case quantifiedStepAsEvent = "V0211"
    case unknownFunction = "V0212"
    case wrongArgumentCount = "V0213"
    case unknownType = "V0214"
    case unknownSeverity = "V0215"
    case fieldNotInScope = "V0216"
    case unknownColumn = "V0217"
    case duplicateColumn = "V0218"
    case missingKey = "V0219"
    case duplicateTable = "V0220"

    // Types: V03xx
    case mismatchedTypes = "V0301"
    case invalidOperand = "V0302"
    case notBoolean = "V0303"
    case argumentType = "V0304"
    case comparisonWithNull = "V0305"
    case aggregateNotAllowed = "V0306"
    case timeFieldType = "V0307"
    case keyTypeMismatch = "V0308"

    // Patterns and windows: V04xx
    case trailingNotWithoutWithin = "V0401"
    case impossibleQuantifier = "V0402"
    case emptyQuantifier = "V0403"
    case nonPositiveDuration = "V0404"
    case untilWithoutQuantifier = "V0405"
    case conflictingClauses = "V0406"
    case clauseNotApplicable = "V0407"
    case negatedStepMisuse = "V0408"
    case patternMatchesNothing = "V0409"
    case hopLargerThanWindow = "V0410"
    case noOutput = "V0411"
    case optionalLastStep = "V0412"
    case suppressByNonKey = "V0413"

    // Regex: V05xx
    case invalidRegex = "V0501"
    case unknownRegexFlag = "V0502"

    // Tables and flows: V06xx
    case invalidTableName = "V0601"
    case unknownExpectAction = "V0602"
    case selectNeedsAlias = "V0603"

    // Warnings: V09xx
    case unusedStream = "V0901"
    case unusedReference = "V0902"

    /// Whether the code is an error or a warning.
    public var defaultSeverity: Severity {
        rawValue.hasPrefix("V09") ? .warning : .error
    }
}
