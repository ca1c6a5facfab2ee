namespace Orchestrator.Workflows.Runtime;

/// <summary>Checks the inputs a run is started with against the definition and applies defaults.</summary>
public static class WorkflowInputs
{
    /// <summary>
    /// The run's input values: given values checked against their declared types, defaults for the
    /// rest. <paramref name="errors"/> lists unknown, missing and mistyped inputs (codes as in validation).
    /// </summary>
    public static IReadOnlyDictionary<string, WorkflowValue> Resolve(
        WorkflowDefinition definition,
        IReadOnlyDictionary<string, WorkflowValue> given,
        out IReadOnlyList<WorkflowError> errors)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(given);
        var problems = new List<WorkflowError>();
        var values = new Dictionary<string, WorkflowValue>(StringComparer.Ordinal);
        foreach (var (name, value) in given)
        {
            if (!definition.Inputs.TryGetValue(name, out var input))
            {
                problems.Add(new WorkflowError(WorkflowErrorCodes.UnknownInput, $"inputs.{name}", 0, 0,
                    $"The workflow has no input '{name}'; its inputs are: {string.Join(", ", definition.Inputs.Keys)}."));
            }
            else if (!Matches(input.Type, value))
            {
                problems.Add(new WorkflowError(WorkflowErrorCodes.WrongType, $"inputs.{name}", 0, 0,
                    $"Input '{name}' must be {TypeName(input.Type)}, not {value.KindName}."));
            }
            else
            {
                values[name] = value;
            }
        }

        foreach (var (name, input) in definition.Inputs)
        {
            if (given.ContainsKey(name))
            {
                continue;
            }

            if (input.Default is not null)
            {
                values[name] = input.Default;
            }
            else if (input.Required)
            {
                problems.Add(new WorkflowError(WorkflowErrorCodes.MissingField, $"inputs.{name}", 0, 0, $"Input '{name}' is required and has no default."));
            }
            else
            {
                values[name] = WorkflowValue.Null;
            }
        }

        errors = problems;
        return values;
    }

    public static bool Matches(InputType type, WorkflowValue value) => (type, value) switch
    {
        (_, NullValue) => true,
        (InputType.String, StringValue) => true,
        (InputType.Number, NumberValue) => true,
        (InputType.Boolean, BoolValue) => true,
        (InputType.Object, MapValue or ListValue) => true,
        _ => false,
    };

    public static string TypeName(InputType type) => type switch
    {
        InputType.String => "a string",
        InputType.Number => "a number",
        InputType.Boolean => "a boolean (true or false)",
        _ => "an object or a list",
    };
}
