using System.Diagnostics;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Workflows.Tests;

/// <summary>
/// Hostile values reach a real /bin/sh through the renderer: the shell must print each payload
/// verbatim and run none of it. HOME points into a scratch directory with a canary file, so even a
/// quoting bug could only ever delete that directory.
/// </summary>
public sealed class ShellRenderingTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("orch-wf-shell-").FullName;

    private string Marker => Path.Combine(_scratch, "pwned");

    private string Canary => Path.Combine(_scratch, "home", "canary");

    public ShellRenderingTests()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Canary)!);
        File.WriteAllText(Canary, "still here");
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    public static TheoryData<string> Payloads => new(
    [
        "$(touch {marker}); rm -rf ~",
        "`touch {marker}`",
        "'; touch {marker}; echo '",
        "\"; touch {marker}; echo \"",
        "x\ntouch {marker}\n",
        "a && touch {marker} || touch {marker}",
        "$HOME ${PATH} * ? [a] ~ \\n \\ end",
        "it's 'quoted' '\\'' twice''",
        "-n",
        "",
        "ünïcödé ✓ > {marker} < /dev/null | cat",
    ]);

    [Theory]
    [MemberData(nameof(Payloads))]
    public void Hostile_input_is_inert_in_an_ssh_command(string template)
    {
        var payload = template.Replace("{marker}", Marker, StringComparison.Ordinal);
        var step = SshStep("printf '%s' ${{ inputs.payload }}");
        var context = Context(inputs: new() { ["payload"] = new StringValue(payload) });

        var command = TemplateRenderer.RenderParameters(step, context)["command"].ToText();
        var (exitCode, stdout) = RunShell(command);

        Assert.Equal(0, exitCode);
        Assert.Equal(payload, stdout);
        Assert.False(File.Exists(Marker), "the payload ran: the marker file exists");
        Assert.True(File.Exists(Canary), "the payload ran: HOME was deleted");
    }

    [Fact]
    public void Hostile_step_output_and_secret_are_inert_in_a_script()
    {
        var output = $"$(touch {Marker})";
        var secret = $"p'w;d`touch {Marker}`";
        var step = SshStep(null, "set -e\nprintf '%s|' ${{ steps.probe.outputs.text }}\nprintf '%s' ${{ secrets.TOKEN }}\n");
        var context = Context(
            steps: new() { ["probe"] = new StepResult(StepStatus.Succeeded, new Dictionary<string, WorkflowValue> { ["text"] = new StringValue(output) }) },
            secrets: new() { ["TOKEN"] = secret });

        var script = TemplateRenderer.RenderParameters(step, context)["script"].ToText();
        var (exitCode, stdout) = RunShell(script);

        Assert.Equal(0, exitCode);
        Assert.Equal($"{output}|{secret}", stdout);
        Assert.False(File.Exists(Marker));
    }

    [Fact]
    public void Raw_interpolation_is_not_quoted_and_runs_as_shell()
    {
        var step = SshStep("${{ inputs.cmd | raw }} && printf '%s' ${{ inputs.cmd }}");
        var context = Context(inputs: new() { ["cmd"] = new StringValue("printf one; printf two") });

        var command = TemplateRenderer.RenderParameters(step, context)["command"].ToText();
        var (_, stdout) = RunShell(command);

        Assert.Equal("printf one; printf two && printf '%s' 'printf one; printf two'", command);
        Assert.Equal("onetwoprintf one; printf two", stdout);
    }

    [Fact]
    public void Parameters_other_than_command_and_script_are_rendered_plain()
    {
        var step = SshStep("true") with
        {
            With = new ValueDictionary<WorkflowValue>(
            [
                KeyValuePair.Create("instance", (WorkflowValue)new StringValue("${{ steps.box.outputs.id }}")),
                KeyValuePair.Create("command", (WorkflowValue)new StringValue("cd ${{ inputs.dir }}")),
                KeyValuePair.Create("cwd", (WorkflowValue)new StringValue("${{ inputs.dir }}")),
                KeyValuePair.Create("env", (WorkflowValue)new MapValue(new ValueDictionary<WorkflowValue>([KeyValuePair.Create("DIR", (WorkflowValue)new StringValue("${{ inputs.dir }}"))]))),
            ]),
        };
        var context = Context(
            inputs: new() { ["dir"] = new StringValue("/my dir") },
            steps: new() { ["box"] = new StepResult(StepStatus.Succeeded, new Dictionary<string, WorkflowValue> { ["id"] = new StringValue("m-1") }) });

        var rendered = TemplateRenderer.RenderParameters(step, context);

        Assert.Equal(new StringValue("m-1"), rendered["instance"]);
        Assert.Equal(new StringValue("cd '/my dir'"), rendered["command"]);
        Assert.Equal(new StringValue("/my dir"), rendered["cwd"]);
        Assert.Equal(new StringValue("/my dir"), ((MapValue)rendered["env"]).Entries["DIR"]);
    }

    [Fact]
    public void Quote_matches_the_posix_single_quote_form()
    {
        Assert.Equal("''", ShellQuoting.Quote(""));
        Assert.Equal("'a b'", ShellQuoting.Quote("a b"));
        Assert.Equal("'it'\\''s'", ShellQuoting.Quote("it's"));
        Assert.Throws<ArgumentException>(() => ShellQuoting.Quote("a\0b"));
    }

    private static StepDefinition SshStep(string? command, string? script = null) =>
        new(
            "run",
            StepTypes.SshExec,
            new ValueDictionary<WorkflowValue>(
                new[] { KeyValuePair.Create("instance", (WorkflowValue)new StringValue("i-1")) }
                    .Concat(command is null ? [] : [KeyValuePair.Create("command", (WorkflowValue)new StringValue(command))])
                    .Concat(script is null ? [] : [KeyValuePair.Create("script", (WorkflowValue)new StringValue(script))])),
            new ValueDictionary<OutputCapture>([]),
            null,
            null,
            null,
            false,
            new ValueList<ValueList<StepDefinition>>([]));

    private static ExpressionContext Context(
        Dictionary<string, WorkflowValue>? inputs = null,
        Dictionary<string, StepResult>? steps = null,
        Dictionary<string, string>? secrets = null) =>
        new()
        {
            RunId = "run-1",
            Inputs = inputs ?? [],
            Steps = steps ?? [],
            Secrets = secrets ?? [],
        };

    private (int ExitCode, string Stdout) RunShell(string command)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _scratch,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        start.Environment["HOME"] = Path.GetDirectoryName(Canary)!;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(10_000), "the shell did not finish within 10 s");
        return (process.ExitCode, stdout);
    }
}
