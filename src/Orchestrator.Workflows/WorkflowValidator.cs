using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Orchestrator.Workflows.Expressions;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Workflows;

/// <summary>
/// Checks a definition's meaning: names and ids, step types and their parameters, outputs, and
/// every reference in templates and conditions against what is in scope where it is written.
/// Reports every error, each located through the <see cref="SourceMap"/>.
/// </summary>
public static class WorkflowValidator
{
    public static IReadOnlyList<WorkflowError> Validate(WorkflowDefinition definition, SourceMap? sourceMap = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var pass = new ValidationPass(definition, sourceMap ?? new SourceMap());
        pass.Run();
        return pass.Errors;
    }
}

internal sealed partial class ValidationPass(WorkflowDefinition definition, SourceMap map)
{
    /// <summary>Parameters that may carry secrets: they reach the machine without being echoed in names or URLs.</summary>
    private static readonly FrozenSet<string> s_secretParameters = FrozenSet.Create(StringComparer.Ordinal, "command", "script", "env", "inputs");

    private static readonly string[] s_instanceFields = ["id", "name", "region", "private_ip", "public_ip"];
    private static readonly string[] s_runFields = ["id", "workflow"];
    private static readonly string[] s_sizeFields = ["cpus", "memory_mb", "cpu_kind"];
    private static readonly string[] s_roots = ["inputs", "steps", "secrets", "instance", "run"];

    private readonly List<WorkflowError> _errors = [];
    private readonly Dictionary<string, (StepDefinition Step, string Path)> _steps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _edges = new(StringComparer.Ordinal);
    private readonly List<PendingReference> _pending = [];

    public IReadOnlyList<WorkflowError> Errors => _errors;

    public void Run()
    {
        if (definition.Name.Length > 0 && !WorkflowName().IsMatch(definition.Name))
        {
            Error(WorkflowErrorCodes.InvalidName, "name",
                $"The workflow name '{definition.Name}' is invalid; use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit.");
        }

        ValidateInputs();
        if (definition.Steps.Count == 0)
        {
            Error(WorkflowErrorCodes.NoSteps, "steps", "The workflow has no steps; add at least one under 'steps'.");
        }

        CollectIds(definition.Steps, "steps");
        CollectIds(definition.Finally, "finally");

        var visible = new HashSet<string>(StringComparer.Ordinal);
        ValidateSteps(definition.Steps, "steps", visible, new HashSet<string>(StringComparer.Ordinal), inFinally: false);
        var mainSteps = definition.Steps.SelectMany(static s => s.SelfAndDescendants()).Select(static s => s.Id).ToHashSet(StringComparer.Ordinal);
        ValidateSteps(definition.Finally, "finally", new HashSet<string>(mainSteps, StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal), inFinally: true);

        foreach (var (name, value) in definition.Outputs)
        {
            var scope = new Scope(null, null, "outputs." + name, mainSteps, new HashSet<string>(StringComparer.Ordinal), AllowSecrets: false, AllowInstance: false);
            ValidateTemplate(value, scope);
        }

        ResolvePending();
    }

    private void ValidateInputs()
    {
        foreach (var (name, input) in definition.Inputs)
        {
            var path = SourceMap.Child("inputs", name);
            if (!InputName().IsMatch(name))
            {
                Error(WorkflowErrorCodes.InvalidName, path, $"The input name '{name}' is invalid; use letters, digits and '_', starting with a letter or '_' (it is written inputs.{name} in templates).");
            }

            if (input.Default is null)
            {
                continue;
            }

            var defaultPath = SourceMap.Child(path, "default");
            if (!WorkflowInputs.Matches(input.Type, input.Default))
            {
                Error(WorkflowErrorCodes.InputDefaultMismatch, defaultPath,
                    $"The default of input '{name}' is {Describe(input.Default)}, but the input's type is {input.Type.ToString().ToLowerInvariant()}; the default must be {WorkflowInputs.TypeName(input.Type)}.");
            }

            if (ContainsTemplate(input.Default))
            {
                // Defaults are data given to the run; evaluating them would let an input read secrets or outputs.
                Error(WorkflowErrorCodes.TemplateNotAllowed, defaultPath,
                    $"The default of input '{name}' contains '${{{{'; defaults are literal values and are never evaluated. Remove the template.");
            }
        }
    }

    private void CollectIds(ValueList<StepDefinition> steps, string path)
    {
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            var stepPath = SourceMap.Index(path, i);
            if (step.Id.Length > 0)
            {
                if (!StepId().IsMatch(step.Id))
                {
                    Error(WorkflowErrorCodes.InvalidStepId, SourceMap.Child(stepPath, "id"),
                        $"The step id '{step.Id}' is invalid; use 1-64 letters, digits, '_' or '-', starting with a letter or '_' (it is written steps.{step.Id}.outputs.<name> in templates).");
                }
                else if (_steps.TryGetValue(step.Id, out var first))
                {
                    Error(WorkflowErrorCodes.DuplicateStepId, SourceMap.Child(stepPath, "id"),
                        $"The step id '{step.Id}' is already used by {first.Path}; step ids must be unique in the whole workflow, including branches and finally.");
                }
                else
                {
                    _steps[step.Id] = (step, stepPath);
                }
            }

            for (var b = 0; b < step.Branches.Count; b++)
            {
                CollectIds(step.Branches[b], SourceMap.Index(SourceMap.Child(stepPath, "branches"), b));
            }
        }
    }

    private void ValidateSteps(ValueList<StepDefinition> steps, string path, HashSet<string> visible, HashSet<string> siblings, bool inFinally)
    {
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            var stepPath = SourceMap.Index(path, i);
            var spec = ValidateType(step, stepPath);
            ValidateParameters(step, spec, stepPath, visible, siblings);
            ValidateOutputs(step, spec, stepPath);

            if (step.If is not null)
            {
                var ifPath = SourceMap.Child(stepPath, "if");
                var scope = new Scope(step, spec, ifPath, visible, siblings, AllowSecrets: false, AllowInstance: spec?.TargetsInstance == true);
                try
                {
                    var condition = ExpressionEvaluator.ParseCondition(step.If);
                    CheckReferences(condition, scope);
                }
                catch (ExpressionSyntaxException exception)
                {
                    Error(exception.Code, ifPath, $"Invalid condition '{step.If}': {exception.Message}");
                }
            }

            if (step.Timeout is { } timeout && timeout <= TimeSpan.Zero)
            {
                Error(WorkflowErrorCodes.InvalidDuration, SourceMap.Child(stepPath, "timeout"), "A step 'timeout' must be longer than 0s.");
            }

            if (step.Uses == StepTypes.Parallel)
            {
                if (step.Branches.Count == 0)
                {
                    Error(WorkflowErrorCodes.InvalidBranches, stepPath, $"The parallel step '{step.Id}' has no branches; add 'branches', a list of branches that are each a list of steps.");
                }

                for (var b = 0; b < step.Branches.Count; b++)
                {
                    var branchPath = SourceMap.Index(SourceMap.Child(stepPath, "branches"), b);
                    if (step.Branches[b].Count == 0)
                    {
                        Error(WorkflowErrorCodes.InvalidBranches, branchPath, $"Branch {b} of '{step.Id}' has no steps.");
                    }

                    // A branch sees what ran before the parallel step and its own earlier steps, never its siblings.
                    var others = new HashSet<string>(siblings, StringComparer.Ordinal);
                    for (var o = 0; o < step.Branches.Count; o++)
                    {
                        if (o != b)
                        {
                            others.UnionWith(step.Branches[o].SelectMany(static s => s.SelfAndDescendants()).Select(static s => s.Id));
                        }
                    }

                    ValidateSteps(step.Branches[b], branchPath, new HashSet<string>(visible, StringComparer.Ordinal), others, inFinally);
                }
            }
            else if (step.Branches.Count > 0)
            {
                Error(WorkflowErrorCodes.UnknownField, SourceMap.Child(stepPath, "branches"), $"'branches' belongs to parallel steps only; '{step.Id}' is {step.Uses}.");
            }

            visible.UnionWith(step.SelfAndDescendants().Select(static s => s.Id));
        }
    }

    private StepTypeSpec? ValidateType(StepDefinition step, string stepPath)
    {
        if (step.Uses.Length == 0)
        {
            return null;
        }

        var spec = StepTypes.Find(step.Uses);
        if (spec is null)
        {
            var names = StepTypes.All.Select(static t => t.Name).ToArray();
            Error(WorkflowErrorCodes.UnknownStepType, SourceMap.Child(stepPath, "uses"),
                $"Unknown step type '{step.Uses}'.{Suggest.DidYouMean(step.Uses, names)} Known types: {string.Join(", ", names)}.");
        }

        return spec;
    }

    private void ValidateParameters(StepDefinition step, StepTypeSpec? spec, string stepPath, HashSet<string> visible, HashSet<string> siblings)
    {
        var withPath = SourceMap.Child(stepPath, "with");
        foreach (var (name, value) in step.With)
        {
            var path = SourceMap.Child(withPath, name);
            var parameter = spec?.Parameter(name);
            if (spec is not null && parameter is null)
            {
                var names = spec.Parameters.Select(static p => p.Name).ToArray();
                Error(WorkflowErrorCodes.UnknownParameter, path,
                    $"'{spec.Name}' has no parameter '{name}'.{Suggest.DidYouMean(name, names)} " +
                    (names.Length == 0 ? $"It takes no parameters." : $"Its parameters are: {string.Join(", ", names)}."));
            }
            else if (parameter is not null)
            {
                CheckKind(parameter, value, path, spec!.Name);
            }

            var scope = new Scope(step, spec, path, visible, siblings, s_secretParameters.Contains(name), spec?.TargetsInstance == true && name != "instance");
            ValidateTemplates(value, path, scope);
        }

        if (spec is null)
        {
            return;
        }

        foreach (var parameter in spec.Parameters.Where(p => p.Required && !step.With.ContainsKey(p.Name)))
        {
            Error(WorkflowErrorCodes.MissingParameter, SourceMap.Child(withPath, parameter.Name),
                $"'{spec.Name}' needs the parameter '{parameter.Name}' under 'with': {parameter.Description}");
        }

        foreach (var group in spec.OneOf)
        {
            var given = group.Where(step.With.ContainsKey).ToArray();
            if (given.Length == 0)
            {
                Error(WorkflowErrorCodes.MissingParameter, SourceMap.Child(withPath, group[0]),
                    $"'{spec.Name}' needs exactly one of {string.Join(" or ", group.Select(static g => $"'{g}'"))} under 'with'.");
            }
            else if (given.Length > 1)
            {
                Error(WorkflowErrorCodes.ConflictingParameters, SourceMap.Child(withPath, given[1]),
                    $"'{spec.Name}' takes exactly one of {string.Join(" or ", group.Select(static g => $"'{g}'"))}, but both are given; keep one.");
            }
        }
    }

    private static bool IsSoleInterpolation(string text)
    {
        try
        {
            return Template.Parse(text).SoleInterpolation is not null;
        }
        catch (ExpressionSyntaxException)
        {
            return false; // reported where templates are checked
        }
    }

    private void CheckKind(ParameterSpec parameter, WorkflowValue value, string path, string stepType)
    {
        if (value is StringValue text && Template.IsTemplate(text.Value)
            && (parameter.Kind is not (ParameterKind.StringMap or ParameterKind.Volume or ParameterKind.AnyMap) || IsSoleInterpolation(text.Value)))
        {
            // Its type is known only when the run renders it. A mapping parameter takes a template only when it is one
            // interpolation (env: ${{ inputs.env }}), which renders to the value itself, a mapping included.
            return;
        }

        string? expected = parameter.Kind switch
        {
            ParameterKind.String => value is StringValue ? null : "a string",
            ParameterKind.Integer => IsInteger(value) ? null : "a whole number",
            ParameterKind.Boolean => value is BoolValue ? null : "true or false",
            ParameterKind.Duration => value is StringValue ? null : Duration.Expected,
            ParameterKind.StringMap => value is MapValue ? null : "a mapping of names to values, e.g. { PORT: \"3000\" }",
            ParameterKind.IntegerList => value is ListValue ? null : "a list of whole numbers, e.g. [0, 1]",
            ParameterKind.IntegerOrList => value is ListValue || IsInteger(value) ? null : "a whole number or a list of them, e.g. 200 or [200, 204]",
            ParameterKind.Volume => value is MapValue ? null : "a mapping { size_gb, path } or { id, path }",
            ParameterKind.Size => value is StringValue or MapValue ? null : "a preset name such as shared-cpu-1x, or a mapping { cpus, memory_mb, cpu_kind }",
            ParameterKind.AnyMap => value is MapValue ? null : "a mapping",
            ParameterKind.StringOrInteger => value is StringValue || IsInteger(value) ? null : "a string or a whole number",
            _ => null,
        };
        if (expected is not null)
        {
            Error(WorkflowErrorCodes.WrongParameterType, path,
                $"'{parameter.Name}' of {stepType} is {Describe(value)}; expected {expected}{(value is NumberValue or BoolValue && parameter.Kind == ParameterKind.String ? " (put it in quotes to make it a string)" : "")}.");
            return;
        }

        switch (parameter.Kind)
        {
            case ParameterKind.Duration when !Duration.TryParse(((StringValue)value).Value, out _):
                Error(WorkflowErrorCodes.InvalidDuration, path, $"'{parameter.Name}' of {stepType} is {Describe(value)}; expected {Duration.Expected}.");
                break;
            case ParameterKind.StringMap:
                foreach (var (key, item) in ((MapValue)value).Entries)
                {
                    var itemPath = SourceMap.Child(path, key);
                    if (parameter.Name == "env" && !EnvName().IsMatch(key))
                    {
                        Error(WorkflowErrorCodes.InvalidParameter, itemPath, $"'{key}' is not a valid environment variable name; use letters, digits and '_', not starting with a digit.");
                    }

                    if (item is not (StringValue or NumberValue or BoolValue))
                    {
                        Error(WorkflowErrorCodes.WrongParameterType, itemPath, $"'{key}' in '{parameter.Name}' is {Describe(item)}; expected a string, number or boolean.");
                    }
                }

                break;
            case ParameterKind.IntegerList or ParameterKind.IntegerOrList:
                var items = value is ListValue list ? list.Items : new ValueList<WorkflowValue>([value]);
                var (min, max) = parameter.Name == "accepted_exit_codes" ? (0, 255) : (100, 599);
                for (var i = 0; i < items.Count; i++)
                {
                    var itemPath = value is ListValue ? SourceMap.Index(path, i) : path;
                    if (items[i] is StringValue s && Template.IsTemplate(s.Value))
                    {
                        continue;
                    }

                    if (!IsInteger(items[i]) || ((NumberValue)items[i]).Value < min || ((NumberValue)items[i]).Value > max)
                    {
                        Error(WorkflowErrorCodes.WrongParameterType, itemPath, $"'{parameter.Name}' contains {Describe(items[i])}; expected whole numbers from {min} to {max}.");
                    }
                }

                break;
            case ParameterKind.Volume:
                CheckVolume((MapValue)value, path);
                break;
            case ParameterKind.Size when value is StringValue preset && !SizePreset().IsMatch(preset.Value):
                Error(WorkflowErrorCodes.InvalidParameter, path,
                    $"'{parameter.Name}' of {stepType} is '{preset.Value}'; expected a preset such as shared-cpu-1x (shared-cpu-{{1,2,4,6,8}}x, performance-{{1,2,4,6,8,10,12,14,16}}x) or {{ cpus, memory_mb, cpu_kind }}.");
                break;
            case ParameterKind.Size when value is MapValue size:
                CheckSize(size, path);
                break;
            case ParameterKind.String when parameter.Name == "url"
                && !(Uri.TryCreate(((StringValue)value).Value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"):
                Error(WorkflowErrorCodes.InvalidParameter, path, $"'url' must be an absolute http or https URL, not '{((StringValue)value).Value}'.");
                break;
        }
    }

    private void CheckVolume(MapValue volume, string path)
    {
        foreach (var (key, value) in volume.Entries)
        {
            var itemPath = SourceMap.Child(path, key);
            switch (key)
            {
                case "size_gb" when value is StringValue s && Template.IsTemplate(s.Value):
                    break;
                case "size_gb" when !IsInteger(value) || ((NumberValue)value).Value is < 1 or > 500:
                    Error(WorkflowErrorCodes.WrongParameterType, itemPath, $"'size_gb' is {Describe(value)}; expected a whole number of gigabytes from 1 to 500.");
                    break;
                case "path" when value is not StringValue { Value: ['/', ..] }:
                    Error(WorkflowErrorCodes.WrongParameterType, itemPath, $"'path' is {Describe(value)}; expected an absolute mount path such as /data.");
                    break;
                case "id" when value is StringValue s && Template.IsTemplate(s.Value):
                    break;
                case "id" when value is not StringValue { Value: ['v', 'o', 'l', '_', _, ..] }:
                    Error(WorkflowErrorCodes.WrongParameterType, itemPath, $"'id' is {Describe(value)}; expected a volume id such as vol_9vw681egy1jj5xm4, usually ${{{{ steps.<create step>.outputs.volume_id }}}}.");
                    break;
                case "size_gb" or "path" or "id":
                    break;
                default:
                    Error(WorkflowErrorCodes.UnknownParameter, itemPath, $"A volume has no field '{key}'; its fields are size_gb (a new volume) or id (a kept one), and path.");
                    break;
            }
        }

        if (!volume.Entries.ContainsKey("path"))
        {
            Error(WorkflowErrorCodes.MissingParameter, SourceMap.Child(path, "path"), "A volume needs 'path'.");
        }

        if (volume.Entries.ContainsKey("size_gb") && volume.Entries.ContainsKey("id"))
        {
            Error(WorkflowErrorCodes.ConflictingParameters, SourceMap.Child(path, "id"),
                "A volume is either { size_gb, path } (a new volume) or { id, path } (one a destroyed instance kept), not both; keep one.");
        }
        else if (!volume.Entries.ContainsKey("size_gb") && !volume.Entries.ContainsKey("id"))
        {
            Error(WorkflowErrorCodes.MissingParameter, SourceMap.Child(path, "size_gb"), "A volume needs 'size_gb' (a new volume) or 'id' (one a destroyed instance kept).");
        }
    }

    private void CheckSize(MapValue size, string path)
    {
        foreach (var (key, value) in size.Entries)
        {
            var itemPath = SourceMap.Child(path, key);
            switch (key)
            {
                case "cpus" or "memory_mb" or "cpu_kind" when value is StringValue s && Template.IsTemplate(s.Value):
                    break;
                case "cpus" or "memory_mb" when !IsInteger(value) || ((NumberValue)value).Value < 1:
                    Error(WorkflowErrorCodes.WrongParameterType, itemPath, $"'{key}' is {Describe(value)}; expected a whole number{(key == "cpus" ? " of CPUs" : " of MB, a multiple of 256")}.");
                    break;
                case "cpu_kind" when value is not StringValue { Value: "shared" or "performance" }:
                    Error(WorkflowErrorCodes.WrongParameterType, itemPath, $"'cpu_kind' is {Describe(value)}; expected shared or performance.");
                    break;
                case "cpus" or "memory_mb" or "cpu_kind":
                    break;
                default:
                    Error(WorkflowErrorCodes.UnknownParameter, itemPath, $"A size has no field '{key}'; its fields are {string.Join(", ", s_sizeFields)}.{Suggest.DidYouMean(key, s_sizeFields)}");
                    break;
            }
        }

        foreach (var required in s_sizeFields[..2].Where(r => !size.Entries.ContainsKey(r)))
        {
            Error(WorkflowErrorCodes.MissingParameter, SourceMap.Child(path, required), $"A size needs '{required}' (or use a preset such as shared-cpu-1x).");
        }
    }

    private void ValidateOutputs(StepDefinition step, StepTypeSpec? spec, string stepPath)
    {
        foreach (var (name, capture) in step.Outputs)
        {
            var path = SourceMap.Child(SourceMap.Child(stepPath, "outputs"), name);
            if (!InputName().IsMatch(name))
            {
                Error(WorkflowErrorCodes.InvalidName, path, $"The output name '{name}' is invalid; use letters, digits and '_', starting with a letter or '_'.");
            }

            if (step.Outputs.ContainsKey(StepTypes.TruncatedOutput(name)))
            {
                Error(WorkflowErrorCodes.InvalidOutput, SourceMap.Child(SourceMap.Child(stepPath, "outputs"), StepTypes.TruncatedOutput(name)),
                    $"The output name '{StepTypes.TruncatedOutput(name)}' is taken: the step sets it to say whether the capture '{name}' was cut. Choose another name.");
            }

            if (spec is not null && spec.CaptureSources.Count == 0)
            {
                Error(WorkflowErrorCodes.OutputsNotSupported, path,
                    $"'{spec.Name}' steps do not capture outputs; they provide {(spec.BuiltInOutputs.Count == 0 ? "none" : string.Join(", ", spec.BuiltInOutputs))}. Remove 'outputs'.");
                continue;
            }

            if (spec is not null && !spec.CaptureSources.Contains(capture.From))
            {
                Error(WorkflowErrorCodes.InvalidOutput, path,
                    $"'{spec.Name}' cannot capture from {capture.From.ToString().ToLowerInvariant()}; it captures from {string.Join(" or ", spec.CaptureSources.Select(static s => s.ToString().ToLowerInvariant()))}.");
            }

            if (capture.Kind == CaptureKind.Json && !JsonPath.TryParse(capture.Pattern!, out _, out var jsonError))
            {
                Error(WorkflowErrorCodes.InvalidJsonPath, SourceMap.Child(path, "json"), $"Invalid JSON path '{capture.Pattern}': {jsonError}.");
            }

            if (capture.Kind == CaptureKind.Regex)
            {
                CheckRegex(name, capture, SourceMap.Child(path, "regex"));
            }
            else if (capture.Group is not null)
            {
                Error(WorkflowErrorCodes.InvalidOutput, SourceMap.Child(path, "group"), "'group' only applies to a 'regex' capture.");
            }
        }
    }

    private void CheckRegex(string name, OutputCapture capture, string path)
    {
        Regex regex;
        try
        {
            regex = new Regex(capture.Pattern!, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException exception)
        {
            Error(WorkflowErrorCodes.InvalidRegex, path, $"Invalid regular expression '{capture.Pattern}': {exception.Message}");
            return;
        }

        var group = capture.Group ?? name;
        if (!regex.GetGroupNames().Contains(group, StringComparer.Ordinal))
        {
            Error(WorkflowErrorCodes.InvalidRegex, path,
                $"The regular expression has no group named '{group}'; name the group after the output, e.g. (?<{group}>...), or set 'group'.");
        }
    }

    private void ValidateTemplates(WorkflowValue value, string path, Scope scope)
    {
        switch (value)
        {
            case StringValue text:
                ValidateTemplate(text.Value, scope with { Path = path });
                break;
            case ListValue list:
                for (var i = 0; i < list.Items.Count; i++)
                {
                    ValidateTemplates(list.Items[i], SourceMap.Index(path, i), scope);
                }

                break;
            case MapValue mapValue:
                foreach (var (key, item) in mapValue.Entries)
                {
                    ValidateTemplates(item, SourceMap.Child(path, key), scope);
                }

                break;
        }
    }

    private void ValidateTemplate(string text, Scope scope)
    {
        if (!Template.IsTemplate(text))
        {
            return;
        }

        try
        {
            foreach (var interpolation in Template.Parse(text).Interpolations)
            {
                CheckReferences(interpolation.Expression, scope);
            }
        }
        catch (ExpressionSyntaxException exception)
        {
            Error(exception.Code, scope.Path, $"Invalid template '{text}': {exception.Message}");
        }
    }

    private void CheckReferences(Expression expression, Scope scope)
    {
        switch (expression)
        {
            case ReferenceExpression reference:
                CheckReference(reference, scope);
                break;
            case NotExpression not:
                CheckReferences(not.Operand, scope);
                break;
            case BinaryExpression binary:
                CheckReferences(binary.Left, scope);
                CheckReferences(binary.Right, scope);
                break;
            case CallExpression call:
                foreach (var argument in call.Arguments)
                {
                    CheckReferences(argument, scope);
                }

                break;
        }
    }

    private void CheckReference(ReferenceExpression reference, Scope scope)
    {
        var s = reference.Segments;
        var text = reference.ToString();
        switch (reference.Root)
        {
            case "inputs":
                if (s.Count < 2 || !definition.Inputs.TryGetValue(s[1], out var input))
                {
                    var name = s.Count < 2 ? "" : s[1];
                    Error(WorkflowErrorCodes.UnknownInput, scope.Path,
                        $"'{text}' refers to an input '{name}' that the workflow does not declare.{Suggest.DidYouMean(name, definition.Inputs.Keys)} " +
                        (definition.Inputs.Count == 0 ? "Declare it under 'inputs'." : $"Declared inputs: {string.Join(", ", definition.Inputs.Keys)}."));
                }
                else if (s.Count > 2 && input.Type != InputType.Object)
                {
                    Error(WorkflowErrorCodes.UnknownReference, scope.Path, $"'{text}' reads a field of input '{s[1]}', which is {WorkflowInputs.TypeName(input.Type)}, not an object.");
                }

                break;
            case "steps":
                CheckStepReference(reference, scope);
                break;
            case "secrets":
                if (s.Count != 2 || !SecretName().IsMatch(s[1]))
                {
                    Error(WorkflowErrorCodes.UnknownReference, scope.Path, $"'{text}' is not a secret reference; write secrets.NAME with NAME in capitals, digits and '_'.");
                }
                else if (!scope.AllowSecrets)
                {
                    Error(WorkflowErrorCodes.SecretNotAllowed, scope.Path,
                        $"'{text}' is used in '{LastSegment(scope.Path)}'; secrets may only be used in {string.Join(", ", s_secretParameters)} parameters, where they are not shown in names, URLs, conditions or outputs.");
                }

                break;
            case "instance":
                if (s.Count != 2 || Array.IndexOf(s_instanceFields, s[1]) < 0)
                {
                    Error(WorkflowErrorCodes.UnknownReference, scope.Path, $"'{text}' is unknown; an instance has {string.Join(", ", s_instanceFields.Select(static f => "instance." + f))}.");
                }
                else if (!scope.AllowInstance)
                {
                    Error(WorkflowErrorCodes.InstanceNotInScope, scope.Path,
                        scope.Spec?.TargetsInstance == true
                            ? $"'{text}' cannot be used in the 'instance' parameter itself, which names the instance."
                            : $"'{text}' is only available in steps that act on an instance (with an 'instance' parameter, e.g. ssh.exec); here use steps.<create step>.outputs.{s[1]}.");
                }

                break;
            case "run":
                if (s.Count != 2 || Array.IndexOf(s_runFields, s[1]) < 0)
                {
                    Error(WorkflowErrorCodes.UnknownReference, scope.Path, $"'{text}' is unknown; a run has {string.Join(", ", s_runFields.Select(static f => "run." + f))}.");
                }

                break;
            default:
                Error(WorkflowErrorCodes.UnknownReference, scope.Path,
                    $"'{text}' is not a known reference; references start with inputs., steps., secrets., instance. or run.{Suggest.DidYouMean(reference.Root, s_roots)}");
                break;
        }
    }

    private void CheckStepReference(ReferenceExpression reference, Scope scope)
    {
        var s = reference.Segments;
        var text = reference.ToString();
        if (s.Count < 3 || !(s[2] == "status" && s.Count == 3 || s[2] == "outputs" && s.Count >= 4))
        {
            Error(WorkflowErrorCodes.UnknownReference, scope.Path, $"'{text}' is not a step reference; write steps.<id>.outputs.<name> or steps.<id>.status.");
            return;
        }

        var id = s[1];
        if (!_steps.TryGetValue(id, out var target))
        {
            Error(WorkflowErrorCodes.UnknownStep, scope.Path, $"'{text}' refers to a step '{id}' that does not exist.{Suggest.DidYouMean(id, _steps.Keys)}");
            return;
        }

        if (s[2] == "outputs")
        {
            var targetSpec = StepTypes.Find(target.Step.Uses);
            var available = (targetSpec?.BuiltInOutputs ?? new ValueList<string>([])).Concat(target.Step.Outputs.Keys.SelectMany(static n => new[] { n, StepTypes.TruncatedOutput(n) })).Distinct(StringComparer.Ordinal).ToArray();
            if (targetSpec is { AnyOutput: false } && !available.Contains(s[3], StringComparer.Ordinal))
            {
                Error(WorkflowErrorCodes.UnknownOutput, scope.Path,
                    $"'{text}': step '{id}' ({target.Step.Uses}) has no output '{s[3]}'.{Suggest.DidYouMean(s[3], available)} " +
                    (available.Length == 0 ? "It has no outputs." : $"Its outputs: {string.Join(", ", available)}.") +
                    (targetSpec.CaptureSources.Count > 0 ? " Declare more under its 'outputs'." : ""));
            }
        }

        if (scope.Step is null)
        {
            return; // workflow outputs: every main step is visible
        }

        if (scope.Step.Id.Length > 0)
        {
            _edges.TryAdd(scope.Step.Id, new HashSet<string>(StringComparer.Ordinal));
            _edges[scope.Step.Id].Add(id);
        }

        if (!scope.Visible.Contains(id))
        {
            _pending.Add(new PendingReference(scope.Step.Id, id, text, scope.Path, scope.Siblings.Contains(id), target.Path));
        }
    }

    /// <summary>
    /// Forward references are classified once all references are known: one that closes a loop of
    /// references is reported as a cycle (the clearer fix), the rest as references to later steps.
    /// </summary>
    private void ResolvePending()
    {
        foreach (var pending in _pending)
        {
            if (pending.Sibling)
            {
                Error(WorkflowErrorCodes.SiblingBranchReference, pending.Path,
                    $"'{pending.Text}' refers to '{pending.Target}', which runs in another branch of the same parallel step ({pending.TargetPath}); branches run concurrently, so one cannot read another's outputs. Read it after the parallel step.");
            }
            else if (PathBetween(pending.Target, pending.From) is { } loop)
            {
                Error(WorkflowErrorCodes.Cycle, pending.Path,
                    $"'{pending.Text}' closes a cycle of references: {string.Join(" -> ", loop.Prepend(pending.From))}. Steps can only read outputs of steps that ran before them.");
            }
            else
            {
                Error(WorkflowErrorCodes.ForwardReference, pending.Path,
                    $"'{pending.Text}' refers to step '{pending.Target}' ({pending.TargetPath}), which has not run yet at this point; a step can only read steps before it" +
                    (pending.TargetPath.StartsWith("finally", StringComparison.Ordinal) ? " (finally steps run after all main steps)." : ". Move this step after it."));
            }
        }
    }

    /// <summary>A chain of references from <paramref name="from"/> to <paramref name="to"/>, or null.</summary>
    private List<string>? PathBetween(string from, string to)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new List<string>();

        bool Visit(string node)
        {
            stack.Add(node);
            if (node == to)
            {
                return true;
            }

            if (seen.Add(node) && _edges.TryGetValue(node, out var next))
            {
                foreach (var n in next)
                {
                    if (Visit(n))
                    {
                        return true;
                    }
                }
            }

            stack.RemoveAt(stack.Count - 1);
            return false;
        }

        return Visit(from) ? stack : null;
    }

    private void Error(string code, string path, string message)
    {
        // Unknown names are reported where the name is written, everything else where the value is.
        var location = code == WorkflowErrorCodes.UnknownParameter ? map.FindKey(path) : map.Find(path);
        _errors.Add(new WorkflowError(code, path, location.Line, location.Column, message));
    }

    private static bool ContainsTemplate(WorkflowValue value) => value switch
    {
        StringValue s => Template.IsTemplate(s.Value),
        ListValue l => l.Items.Any(ContainsTemplate),
        MapValue m => m.Entries.Values.Any(ContainsTemplate),
        _ => false,
    };

    private static bool IsInteger(WorkflowValue value) => value is NumberValue { Value: var n } && n == decimal.Truncate(n);

    private static string Describe(WorkflowValue value) => value switch
    {
        StringValue s => $"the string '{s.Value}'",
        NullValue => "empty (null)",
        ListValue => "a list",
        MapValue => "a mapping",
        _ => $"the {value.KindName} {value.ToText()}",
    };

    private static string LastSegment(string path)
    {
        var cut = path.LastIndexOf('.');
        return cut < 0 ? path : path[(cut + 1)..];
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex WorkflowName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex InputName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex StepId();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvName();

    [GeneratedRegex("^(shared-cpu|performance)-[0-9]{1,2}x$", RegexOptions.CultureInvariant)]
    private static partial Regex SizePreset();

    [GeneratedRegex("^[A-Z_][A-Z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();

    /// <summary>What a template or condition may see where it is written.</summary>
    private sealed record Scope(
        StepDefinition? Step,
        StepTypeSpec? Spec,
        string Path,
        IReadOnlySet<string> Visible,
        IReadOnlySet<string> Siblings,
        bool AllowSecrets,
        bool AllowInstance);

    private sealed record PendingReference(string From, string Target, string Text, string Path, bool Sibling, string TargetPath);
}
