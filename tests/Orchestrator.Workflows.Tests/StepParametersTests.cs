using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Workflows.Tests;

public sealed class StepParametersTests
{
    private static readonly ExpressionContext s_context = new()
    {
        RunId = "r-1",
        Inputs = new Dictionary<string, WorkflowValue>
        {
            ["wait"] = new StringValue("90s"),
            ["status"] = new NumberValue(204),
            ["bad_wait"] = new StringValue("later"),
            ["port"] = new NumberValue(3000),
        },
    };

    [Fact]
    public void Rendered_templates_are_read_with_their_types()
    {
        var definition = WorkflowDefinitionReader.Read("""
            name: x
            inputs:
              wait: { type: string }
              status: { type: number }
              port: { type: number }
            steps:
              - id: check
                uses: http.check
                with:
                  url: "http://localhost:${{ inputs.port }}/"
                  expect_status: ["${{ inputs.status }}", 200]
                  timeout: ${{ inputs.wait }}
              - id: box
                uses: instance.create
                with: { name: b, region: iad, size: shared-cpu-1x, env: { PORT: "${{ inputs.port }}", DEBUG: true }, public_ip: "${{ inputs.port == 3000 }}" }
            """, WorkflowFormat.Yaml).Definition!;

        var check = StepParameters.Render(definition.Steps[0], s_context);
        var box = StepParameters.Render(definition.Steps[1], s_context);

        Assert.Equal("http://localhost:3000/", check.GetString("url"));
        Assert.Equal([204, 200], check.GetOptionalIntegers("expect_status"));
        Assert.Equal(TimeSpan.FromSeconds(90), check.GetDuration("timeout"));
        Assert.Null(check.GetOptionalDuration("interval"));
        Assert.Equal(new Dictionary<string, string> { ["PORT"] = "3000", ["DEBUG"] = "true" }, box.GetOptionalStringMap("env"));
        Assert.True(box.GetOptionalBoolean("public_ip"));
    }

    [Fact]
    public void A_template_that_renders_to_the_wrong_type_fails_with_the_parameter_named()
    {
        var step = new StepDefinition("nap", StepTypes.Sleep,
            new ValueDictionary<WorkflowValue>([KeyValuePair.Create("duration", (WorkflowValue)new StringValue("${{ inputs.bad_wait }}"))]),
            new([]), null, null, null, false, new([]));

        var parameters = StepParameters.Render(step, s_context);
        var exception = Assert.Throws<StepParameterException>(() => parameters.GetDuration("duration"));

        Assert.Equal(("nap", "duration"), (exception.StepId, exception.Parameter));
        Assert.Contains("'later'", exception.Message, StringComparison.Ordinal);
        Assert.Throws<StepParameterException>(() => parameters.GetString("missing"));
    }

    [Fact]
    public void Capture_all_combines_built_in_outputs_and_declared_captures()
    {
        var step = WorkflowDefinitionReader.Read("""
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: i, command: "node --version" }
                outputs:
                  version: { regex: 'v(?<version>[0-9.]+)' }
                  warnings: stderr
            """, WorkflowFormat.Yaml).Definition!.Steps[0];

        var outputs = OutputCapturer.CaptureAll(
            step,
            new Dictionary<OutputSource, string> { [OutputSource.Stdout] = "v22.1.0\n", [OutputSource.Stderr] = "deprecated\n" },
            new Dictionary<string, WorkflowValue> { ["exit_code"] = new NumberValue(0) });

        Assert.Equal(new NumberValue(0), outputs["exit_code"]);
        Assert.Equal(new StringValue("22.1.0"), outputs["version"]);
        Assert.Equal(new StringValue("deprecated"), outputs["warnings"]);
    }
}
