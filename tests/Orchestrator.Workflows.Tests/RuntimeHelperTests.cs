using System.Text.Json.Nodes;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Workflows.Tests;

public sealed class RuntimeHelperTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("1s", 1_000)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("0s", 0)]
    public void Duration_parses_units_and_sums(string text, long milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Duration.Parse(text));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Duration.Parse(Duration.Format(TimeSpan.FromMilliseconds(milliseconds))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("5 minutes")]
    [InlineData("1w")]
    [InlineData("-1s")]
    [InlineData("1s ")]
    [InlineData("400d")]
    public void Duration_rejects_anything_else(string text)
    {
        Assert.False(Duration.TryParse(text, out _));
        Assert.Throws<FormatException>(() => Duration.Parse(text));
    }

    [Theory]
    [InlineData("$", """{"a":1}""")]
    [InlineData("$.a.b", "\"deep\"")]
    [InlineData("$.list[1]", "20")]
    [InlineData("$['odd key'].x", "true")]
    [InlineData("$.list[5]", null)]
    [InlineData("$.missing.x", null)]
    public void Json_path_selects_values(string path, string? expected)
    {
        var document = JsonNode.Parse("""{"a": {"b": "deep"}, "list": [10, 20], "odd key": {"x": true}}""");
        if (path == "$")
        {
            document = JsonNode.Parse(expected!);
        }

        var selected = JsonPath.Parse(path).Select(document);

        Assert.Equal(expected, selected?.ToJsonString());
    }

    [Theory]
    [InlineData("a.b")]
    [InlineData("$.")]
    [InlineData("$[abc]")]
    [InlineData("$.a[0")]
    [InlineData("$..a")]
    [InlineData("$ .a")]
    public void Json_path_rejects_malformed_paths_with_a_reason(string path)
    {
        Assert.False(JsonPath.TryParse(path, out var parsed, out var error));
        Assert.Null(parsed);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Output_captures_take_text_json_and_regex_groups()
    {
        const string stdout = "build=42 ok\n";

        Assert.Equal(new StringValue("build=42 ok"), OutputCapturer.Capture(new(OutputSource.Stdout, CaptureKind.Text, null, null), "text", stdout));
        Assert.Equal(new StringValue("42"), OutputCapturer.Capture(new(OutputSource.Stdout, CaptureKind.Regex, "build=(?<n>[0-9]+)", "n"), "build", stdout));
        Assert.Equal(new StringValue("42"), OutputCapturer.Capture(new(OutputSource.Stdout, CaptureKind.Regex, "build=(?<build>[0-9]+)", null), "build", stdout));
        Assert.Equal(WorkflowValue.Null, OutputCapturer.Capture(new(OutputSource.Stdout, CaptureKind.Regex, "nope=(?<n>x)", "n"), "n", stdout));
        Assert.Equal(new NumberValue(3), OutputCapturer.Capture(new(OutputSource.Stdout, CaptureKind.Json, "$.app.version", null), "v", """{"app": {"version": 3}}"""));
        Assert.Equal(WorkflowValue.Null, OutputCapturer.Capture(new(OutputSource.Stdout, CaptureKind.Json, "$.a", null), "v", "not json"));
    }

    [Fact]
    public void Inputs_get_defaults_and_bad_inputs_are_reported()
    {
        var definition = BuiltInWorkflows.Get(BuiltInWorkflows.RepoPreview);

        var values = WorkflowInputs.Resolve(
            definition,
            new Dictionary<string, WorkflowValue> { ["repo_url"] = new StringValue("https://example.com/r.git"), ["port"] = new StringValue("80"), ["colour"] = WorkflowValue.True },
            out var errors);

        Assert.Equal(new StringValue("main"), values["branch"]);
        Assert.Equal(new StringValue("https://example.com/r.git"), values["repo_url"]);
        Assert.Equal(
            [(WorkflowErrorCodes.WrongType, "inputs.port"), (WorkflowErrorCodes.UnknownInput, "inputs.colour")],
            errors.Select(e => (e.Code, e.Path)));

        WorkflowInputs.Resolve(definition, new Dictionary<string, WorkflowValue>(), out var missing);
        Assert.Equal((WorkflowErrorCodes.MissingField, "inputs.repo_url"), (Assert.Single(missing).Code, missing[0].Path));
    }

    [Fact]
    public void Retry_delay_grows_by_the_multiplier_up_to_max()
    {
        var retry = new RetryPolicy(6, new BackoffPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), 2m));

        Assert.Equal(
            [0, 1, 2, 4, 5, 5],
            Enumerable.Range(1, 6).Select(attempt => retry.DelayBefore(attempt).TotalSeconds));
    }

    [Fact]
    public void Validator_works_on_definitions_built_in_code_without_locations()
    {
        var step = new StepDefinition("say", StepTypes.SshExec,
            new ValueDictionary<WorkflowValue>([KeyValuePair.Create("instance", (WorkflowValue)new StringValue("i-1"))]),
            new([]), null, null, null, false, new([]));
        var definition = new WorkflowDefinition("code-built", null, new([]), new([step]), new([]), new([]));

        var error = Assert.Single(WorkflowValidator.Validate(definition));

        Assert.Equal(new WorkflowError(WorkflowErrorCodes.MissingParameter, "steps[0].with.command", 0, 0, error.Message), error);
    }
}
