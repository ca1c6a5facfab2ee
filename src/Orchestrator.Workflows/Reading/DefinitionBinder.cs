namespace Orchestrator.Workflows.Reading;

/// <summary>
/// Turns the document tree into definition records, recording every field's location and reporting
/// structural errors (unknown fields, wrong shapes, bad durations and retry values). It always
/// produces a definition, with placeholders where fields were wrong, so that validation can still
/// report every other error in the same pass.
/// </summary>
internal sealed class DefinitionBinder(ErrorSink errors, SourceMap map)
{
    private static readonly string[] s_workflowFields = ["name", "description", "inputs", "steps", "finally", "outputs"];
    private static readonly string[] s_inputFields = ["type", "default", "required", "description", "secret"];
    private static readonly string[] s_stepFields = ["id", "uses", "with", "outputs", "if", "retry", "timeout", "continue_on_error", "branches"];
    private static readonly string[] s_retryFields = ["max_attempts", "backoff"];
    private static readonly string[] s_backoffFields = ["initial", "max", "multiplier"];
    private static readonly string[] s_outputFields = ["from", "json", "regex", "group"];

    public WorkflowDefinition Bind(DocNode root)
    {
        map.Add("", root.Location);
        if (root is not DocMapping mapping)
        {
            errors.Add(WorkflowErrorCodes.WrongType, "", root.Location, $"A definition is a mapping with 'name' and 'steps', not {Article(root.KindName)}.");
            return new WorkflowDefinition("", null, new([]), new([]), new([]), new([]));
        }

        var fields = Fields(mapping, "", s_workflowFields, "workflow");
        var name = String(fields, "", "name", required: true) ?? "";
        var description = String(fields, "", "description", required: false);
        var inputs = fields.TryGetValue("inputs", out var inputsNode) ? BindInputs(inputsNode) : new ValueDictionary<InputDefinition>([]);
        var steps = fields.TryGetValue("steps", out var stepsNode) ? BindSteps(stepsNode, "steps") : new ValueList<StepDefinition>([]);
        var @finally = fields.TryGetValue("finally", out var finallyNode) ? BindSteps(finallyNode, "finally") : new ValueList<StepDefinition>([]);
        var outputs = new List<KeyValuePair<string, string>>();
        if (fields.TryGetValue("outputs", out var outputsNode)
            && Expect<DocMapping>(outputsNode, "outputs", "a mapping of output names to values") is { } outputsMap
            && CheckDuplicateKeys(outputsMap, "outputs"))
        {
            foreach (var (key, value) in outputsMap.Entries)
            {
                var path = SourceMap.Child("outputs", key.Text);
                map.Add(path, value.Location);
                if (Scalar(value, path, "a string such as ${{ steps.<id>.outputs.<name> }}") is { } text)
                {
                    outputs.Add(KeyValuePair.Create(key.Text, text));
                }
            }
        }

        return new WorkflowDefinition(name, description, inputs, steps, @finally, new ValueDictionary<string>(outputs));
    }

    private ValueDictionary<InputDefinition> BindInputs(DocNode node)
    {
        var result = new List<KeyValuePair<string, InputDefinition>>();
        if (Expect<DocMapping>(node, "inputs", "a mapping of input names to { type, default, required, description, secret }") is not { } inputs
            || !CheckDuplicateKeys(inputs, "inputs"))
        {
            return new ValueDictionary<InputDefinition>(result);
        }

        foreach (var (key, value) in inputs.Entries)
        {
            var path = SourceMap.Child("inputs", key.Text);
            map.Add(path, key.Location);
            if (Expect<DocMapping>(value, path, "a mapping such as { type: string, default: main }") is not { } input)
            {
                continue;
            }

            var fields = Fields(input, path, s_inputFields, "input");
            var type = InputType.String;
            if (String(fields, path, "type", required: false) is { } typeName)
            {
                type = typeName switch
                {
                    "string" => InputType.String,
                    "number" => InputType.Number,
                    "boolean" => InputType.Boolean,
                    "object" => InputType.Object,
                    _ => Invalid(WorkflowErrorCodes.InvalidInput, SourceMap.Child(path, "type"), fields["type"],
                        $"Unknown input type '{typeName}'; expected string, number, boolean or object.{Suggest.DidYouMean(typeName, ["string", "number", "boolean", "object"])}", InputType.String),
                };
            }

            var @default = fields.TryGetValue("default", out var defaultNode) ? ToValue(defaultNode, SourceMap.Child(path, "default")) : null;
            result.Add(KeyValuePair.Create(key.Text, new InputDefinition(
                type,
                @default,
                Bool(fields, path, "required") ?? false,
                String(fields, path, "description", required: false),
                Bool(fields, path, "secret") ?? false)));
        }

        return new ValueDictionary<InputDefinition>(result);
    }

    private ValueList<StepDefinition> BindSteps(DocNode node, string path)
    {
        if (Expect<DocSequence>(node, path, "a list of steps, each a mapping with 'id' and 'uses'") is not { } sequence)
        {
            return new ValueList<StepDefinition>([]);
        }

        return new ValueList<StepDefinition>(sequence.Items.Select((item, index) => BindStep(item, SourceMap.Index(path, index))));
    }

    private StepDefinition BindStep(DocNode node, string path)
    {
        map.Add(path, node.Location);
        if (Expect<DocMapping>(node, path, "a step: a mapping with 'id' and 'uses'") is not { } step)
        {
            return new StepDefinition("", "", new([]), new([]), null, null, null, false, new([]));
        }

        var fields = Fields(step, path, s_stepFields, "step");
        var id = String(fields, path, "id", required: true) ?? "";
        var uses = String(fields, path, "uses", required: true) ?? "";
        var with = new ValueDictionary<WorkflowValue>([]);
        if (fields.TryGetValue("with", out var withNode))
        {
            var withPath = SourceMap.Child(path, "with");
            if (Expect<DocMapping>(withNode, withPath, "a mapping of parameter names to values") is not null)
            {
                with = ((MapValue)ToValue(withNode, withPath)).Entries;
            }
        }

        string? condition = null;
        if (fields.TryGetValue("if", out var ifNode))
        {
            var ifPath = SourceMap.Child(path, "if");
            map.Add(ifPath, ifNode.Location);
            condition = ifNode is DocScalar { Value: BoolValue b } ? b.ToText() : Scalar(ifNode, ifPath, "an expression such as inputs.deploy == true");
        }

        TimeSpan? timeout = fields.TryGetValue("timeout", out var timeoutNode) ? DurationField(timeoutNode, SourceMap.Child(path, "timeout")) : null;
        var branches = new List<ValueList<StepDefinition>>();
        if (fields.TryGetValue("branches", out var branchesNode))
        {
            var branchesPath = SourceMap.Child(path, "branches");
            if (Expect<DocSequence>(branchesNode, branchesPath, "a list of branches, each a list of steps") is { } branchList)
            {
                for (var i = 0; i < branchList.Items.Count; i++)
                {
                    branches.Add(BindSteps(branchList.Items[i], SourceMap.Index(branchesPath, i)));
                }
            }
        }

        return new StepDefinition(
            id,
            uses,
            with,
            fields.TryGetValue("outputs", out var outputsNode) ? BindOutputs(outputsNode, SourceMap.Child(path, "outputs")) : new([]),
            condition,
            fields.TryGetValue("retry", out var retryNode) ? BindRetry(retryNode, SourceMap.Child(path, "retry")) : null,
            timeout,
            Bool(fields, path, "continue_on_error") ?? false,
            new ValueList<ValueList<StepDefinition>>(branches));
    }

    private ValueDictionary<OutputCapture> BindOutputs(DocNode node, string path)
    {
        var result = new List<KeyValuePair<string, OutputCapture>>();
        if (Expect<DocMapping>(node, path, "a mapping of output names to captures such as stdout or { json: $.id }") is not { } outputs
            || !CheckDuplicateKeys(outputs, path))
        {
            return new ValueDictionary<OutputCapture>(result);
        }

        foreach (var (key, value) in outputs.Entries)
        {
            var outputPath = SourceMap.Child(path, key.Text);
            map.Add(outputPath, value.Location);
            if (value is DocScalar { Value: StringValue source })
            {
                if (Source(source.Value, outputPath, value) is { } from)
                {
                    result.Add(KeyValuePair.Create(key.Text, new OutputCapture(from, CaptureKind.Text, null, null)));
                }

                continue;
            }

            if (Expect<DocMapping>(value, outputPath, "stdout, stderr, body, or a mapping { from, json | regex, group }") is not { } capture)
            {
                continue;
            }

            var fields = Fields(capture, outputPath, s_outputFields, "output capture");
            var fromName = String(fields, outputPath, "from", required: false);
            var json = String(fields, outputPath, "json", required: false);
            var regex = String(fields, outputPath, "regex", required: false);
            if (json is not null && regex is not null)
            {
                errors.Add(WorkflowErrorCodes.InvalidOutput, outputPath, capture.Location, $"Output '{key.Text}' has both 'json' and 'regex'; a capture uses one of them.");
                continue;
            }

            var kind = json is not null ? CaptureKind.Json : regex is not null ? CaptureKind.Regex : CaptureKind.Text;
            var fromSource = fromName is null ? OutputSource.Stdout : Source(fromName, SourceMap.Child(outputPath, "from"), fields["from"]);
            if (fromSource is { } resolved)
            {
                result.Add(KeyValuePair.Create(key.Text, new OutputCapture(resolved, kind, json ?? regex, String(fields, outputPath, "group", required: false))));
            }
        }

        return new ValueDictionary<OutputCapture>(result);
    }

    private OutputSource? Source(string name, string path, DocNode node) => name switch
    {
        "stdout" => OutputSource.Stdout,
        "stderr" => OutputSource.Stderr,
        "body" => OutputSource.Body,
        _ => Invalid<OutputSource?>(WorkflowErrorCodes.InvalidOutput, path, node,
            $"'{name}' is not an output source; expected stdout, stderr (ssh.exec) or body (http.check), or a mapping {{ json: $.path }} / {{ regex: '(?<name>...)' }}.", null),
    };

    private RetryPolicy? BindRetry(DocNode node, string path)
    {
        if (Expect<DocMapping>(node, path, "a mapping { max_attempts, backoff: { initial, max, multiplier } }") is not { } retry)
        {
            return null;
        }

        var fields = Fields(retry, path, s_retryFields, "retry");
        var attempts = 3;
        if (!fields.TryGetValue("max_attempts", out var attemptsNode))
        {
            errors.Add(WorkflowErrorCodes.InvalidRetry, SourceMap.Child(path, "max_attempts"), retry.Location, "'retry' needs 'max_attempts': the total number of attempts, from 1 to 100.");
        }
        else if (attemptsNode is DocScalar { Value: NumberValue { Value: var n } } && n == decimal.Truncate(n) && n is >= 1 and <= 100)
        {
            attempts = (int)n;
        }
        else
        {
            Invalid(WorkflowErrorCodes.InvalidRetry, SourceMap.Child(path, "max_attempts"), attemptsNode,
                $"'max_attempts' is {Describe(attemptsNode)}; expected a whole number of attempts from 1 to 100 (1 means no retry).", 0);
        }

        var backoff = BackoffPolicy.Default;
        if (fields.TryGetValue("backoff", out var backoffNode))
        {
            var backoffPath = SourceMap.Child(path, "backoff");
            if (Expect<DocMapping>(backoffNode, backoffPath, "a mapping { initial, max, multiplier }") is { } backoffMap)
            {
                var backoffFields = Fields(backoffMap, backoffPath, s_backoffFields, "backoff");
                var initial = backoffFields.TryGetValue("initial", out var initialNode) ? DurationField(initialNode, SourceMap.Child(backoffPath, "initial"), WorkflowErrorCodes.InvalidRetry) : null;
                var max = backoffFields.TryGetValue("max", out var maxNode) ? DurationField(maxNode, SourceMap.Child(backoffPath, "max"), WorkflowErrorCodes.InvalidRetry) : null;
                var multiplier = backoff.Multiplier;
                if (backoffFields.TryGetValue("multiplier", out var multiplierNode))
                {
                    if (multiplierNode is DocScalar { Value: NumberValue { Value: var m } } && m is >= 1 and <= 10)
                    {
                        multiplier = m;
                    }
                    else
                    {
                        Invalid(WorkflowErrorCodes.InvalidRetry, SourceMap.Child(backoffPath, "multiplier"), multiplierNode,
                            $"'multiplier' is {Describe(multiplierNode)}; expected a number from 1 (constant delay) to 10.", 0);
                    }
                }

                var resolvedInitial = initial ?? backoff.Initial;
                var resolvedMax = max ?? (resolvedInitial > backoff.Max ? resolvedInitial : backoff.Max);
                if (resolvedInitial <= TimeSpan.Zero && initialNode is not null && initial is not null)
                {
                    Invalid(WorkflowErrorCodes.InvalidRetry, SourceMap.Child(backoffPath, "initial"), initialNode, "'initial' must be longer than 0s.", 0);
                }

                if (resolvedMax < resolvedInitial && maxNode is not null)
                {
                    Invalid(WorkflowErrorCodes.InvalidRetry, SourceMap.Child(backoffPath, "max"), maxNode,
                        $"'max' ({Duration.Format(resolvedMax)}) is shorter than 'initial' ({Duration.Format(resolvedInitial)}); the delay grows from initial up to max.", 0);
                }

                backoff = new BackoffPolicy(resolvedInitial, resolvedMax, multiplier);
            }
        }

        return new RetryPolicy(attempts, backoff);
    }

    private TimeSpan? DurationField(DocNode node, string path, string code = WorkflowErrorCodes.InvalidDuration)
    {
        map.Add(path, node.Location);
        if (node is DocScalar { Value: StringValue text } && Duration.TryParse(text.Value, out var value))
        {
            return value;
        }

        return Invalid<TimeSpan?>(code, path, node, $"'{LastSegment(path)}' is {Describe(node)}; expected {Duration.Expected}.", null);
    }

    private Dictionary<string, DocNode> Fields(DocMapping mapping, string path, string[] allowed, string what)
    {
        CheckDuplicateKeys(mapping, path);
        var fields = new Dictionary<string, DocNode>(StringComparer.Ordinal);
        foreach (var (key, value) in mapping.Entries)
        {
            var fieldPath = SourceMap.Child(path, key.Text);
            if (Array.IndexOf(allowed, key.Text) < 0)
            {
                errors.Add(WorkflowErrorCodes.UnknownField, fieldPath, key.Location,
                    $"Unknown field '{key.Text}' in {(what == "workflow" ? "the workflow" : $"{Article(what)}")}.{Suggest.DidYouMean(key.Text, allowed)} Allowed fields: {string.Join(", ", allowed)}.");
                continue;
            }

            map.Add(fieldPath, value.Location);
            fields.TryAdd(key.Text, value);
        }

        return fields;
    }

    private string? String(Dictionary<string, DocNode> fields, string path, string name, bool required)
    {
        var fieldPath = SourceMap.Child(path, name);
        if (!fields.TryGetValue(name, out var node))
        {
            if (required)
            {
                errors.Add(WorkflowErrorCodes.MissingField, fieldPath, map.Find(path), $"Missing required field '{name}'.");
            }

            return null;
        }

        return Scalar(node, fieldPath, "a string");
    }

    private string? Scalar(DocNode node, string path, string expected)
    {
        if (node is DocScalar { Value: StringValue text })
        {
            return text.Value;
        }

        return Invalid<string?>(WorkflowErrorCodes.WrongType, path, node, $"'{LastSegment(path)}' is {Describe(node)}; expected {expected}{QuoteHint(node)}.", null);
    }

    private bool? Bool(Dictionary<string, DocNode> fields, string path, string name)
    {
        if (!fields.TryGetValue(name, out var node))
        {
            return null;
        }

        if (node is DocScalar { Value: BoolValue value })
        {
            return value.Value;
        }

        return Invalid<bool?>(WorkflowErrorCodes.WrongType, SourceMap.Child(path, name), node, $"'{name}' is {Describe(node)}; expected true or false.", null);
    }

    private T? Expect<T>(DocNode node, string path, string expected)
        where T : DocNode
    {
        map.Add(path, node.Location);
        return node as T ?? Invalid<T?>(WorkflowErrorCodes.WrongType, path, node, $"'{LastSegment(path)}' is {Describe(node)}; expected {expected}.", null);
    }

    private WorkflowValue ToValue(DocNode node, string path)
    {
        map.Add(path, node.Location);
        return node switch
        {
            DocScalar scalar => scalar.Value,
            DocSequence sequence => new ListValue(new ValueList<WorkflowValue>(sequence.Items.Select((item, i) => ToValue(item, SourceMap.Index(path, i))))),
            DocMapping mapping when CheckDuplicateKeys(mapping, path) => new MapValue(new ValueDictionary<WorkflowValue>(
                mapping.Entries.Select(e =>
                {
                    map.AddKey(SourceMap.Child(path, e.Key.Text), e.Key.Location);
                    return KeyValuePair.Create(e.Key.Text, ToValue(e.Value, SourceMap.Child(path, e.Key.Text)));
                }))),
            _ => WorkflowValue.Null,
        };
    }

    /// <summary>
    /// Reports keys written twice in one mapping: YAML forbids them, and in JSON the last one would
    /// silently win elsewhere. Always true, so it can sit in a condition that goes on binding.
    /// </summary>
    private bool CheckDuplicateKeys(DocMapping mapping, string path)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, _) in mapping.Entries)
        {
            if (!seen.Add(key.Text))
            {
                errors.Add(WorkflowErrorCodes.DuplicateKey, SourceMap.Child(path, key.Text), key.Location,
                    $"The key '{key.Text}' is written twice in the same mapping; keep one.");
            }
        }

        return true;
    }

    private T Invalid<T>(string code, string path, DocNode node, string message, T fallback)
    {
        errors.Add(code, path, node.Location, message);
        return fallback;
    }

    internal static string Describe(DocNode node) => node switch
    {
        DocScalar { Value: StringValue s } => $"'{s.Value}'",
        DocScalar { Value: NullValue } => "empty",
        DocScalar scalar => $"the {scalar.Value.KindName} {scalar.Text}",
        _ => Article(node.KindName),
    };

    private static string QuoteHint(DocNode node) =>
        node is DocScalar { Value: NumberValue or BoolValue } ? " (put it in quotes to make it a string)" : "";

    private static string LastSegment(string path)
    {
        var cut = path.LastIndexOf('.');
        return cut < 0 ? path : path[(cut + 1)..];
    }

    private static string Article(string kind) => kind is "object" or "input" or "output capture" ? $"an {kind}" : $"a {kind}";
}
