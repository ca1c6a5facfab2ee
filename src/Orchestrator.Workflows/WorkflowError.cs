namespace Orchestrator.Workflows;

/// <summary>A 1-based position in the definition's source text; 0/0 when the definition was built in code.</summary>
public readonly record struct SourceLocation(int Line, int Column)
{
    public static SourceLocation None => default;

    public override string ToString() => $"{Line}:{Column}";
}

/// <summary>
/// One problem with a definition: where it is (line, column and the path of the field, e.g.
/// <c>steps[2].with.command</c>), a stable <see cref="Code"/> from <see cref="WorkflowErrorCodes"/>
/// for programs, and a message for people that says what is wrong and what is expected.
/// </summary>
public sealed record WorkflowError(string Code, string Path, int Line, int Column, string Message)
{
    public override string ToString() => $"{Line}:{Column} {Path}: {Message} ({Code})";
}

/// <summary>Stable error codes: clients branch on these, so never rename one.</summary>
public static class WorkflowErrorCodes
{
    public const string YamlSyntax = "yaml_syntax";
    public const string JsonSyntax = "json_syntax";
    public const string DuplicateKey = "duplicate_key";
    public const string UnsupportedYaml = "unsupported_yaml";
    public const string MissingField = "missing_field";
    public const string UnknownField = "unknown_field";
    public const string WrongType = "wrong_type";
    public const string InvalidName = "invalid_name";
    public const string InvalidStepId = "invalid_step_id";
    public const string DuplicateStepId = "duplicate_step_id";
    public const string NoSteps = "no_steps";
    public const string UnknownStepType = "unknown_step_type";
    public const string MissingParameter = "missing_parameter";
    public const string UnknownParameter = "unknown_parameter";
    public const string WrongParameterType = "wrong_parameter_type";
    public const string ConflictingParameters = "conflicting_parameters";
    public const string InvalidDuration = "invalid_duration";
    public const string InvalidRetry = "invalid_retry";
    public const string InvalidInput = "invalid_input";
    public const string InputDefaultMismatch = "input_default_type_mismatch";
    public const string TemplateNotAllowed = "template_not_allowed";
    public const string TemplateSyntax = "template_syntax";
    public const string ExpressionSyntax = "expression_syntax";
    public const string UnknownFunction = "unknown_function";
    public const string UnknownFilter = "unknown_filter";
    public const string UnknownReference = "unknown_reference";
    public const string UnknownInput = "unknown_input";
    public const string UnknownStep = "unknown_step";
    public const string UnknownOutput = "unknown_output";
    public const string ForwardReference = "forward_reference";
    public const string SiblingBranchReference = "sibling_branch_reference";
    public const string Cycle = "cycle";
    public const string InstanceNotInScope = "instance_not_in_scope";
    public const string InvalidOutput = "invalid_output";
    public const string InvalidRegex = "invalid_regex";
    public const string InvalidJsonPath = "invalid_json_path";
    public const string OutputsNotSupported = "outputs_not_supported";
    public const string InvalidBranches = "invalid_branches";
    public const string SecretNotAllowed = "secret_not_allowed";
    public const string InvalidParameter = "invalid_parameter";
}
