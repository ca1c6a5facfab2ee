using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Workflows.Tests;

/// <summary>
/// The instance resource steps (<c>instance.resize</c>, <c>instance.extend_volume</c>, a kept volume in
/// <c>instance.create</c>), and the promise of the README's step table: every output it lists can be referenced.
/// </summary>
public sealed partial class InstanceResourceStepTests
{
    /// <summary>A minimal valid <c>with</c> for each step type, to reference its outputs from.</summary>
    private static readonly Dictionary<string, string> s_minimalWith = new(StringComparer.Ordinal)
    {
        [StepTypes.InstanceCreate] = "{ name: b, region: iad, size: shared-cpu-1x }",
        [StepTypes.InstanceStart] = "{ instance: b }",
        [StepTypes.InstanceStop] = "{ instance: b }",
        [StepTypes.InstanceDestroy] = "{ instance: b }",
        [StepTypes.InstanceResize] = "{ instance: b, size: shared-cpu-2x }",
        [StepTypes.InstanceExtendVolume] = "{ instance: b, size_gb: 2 }",
        [StepTypes.SshExec] = "{ instance: b, command: 'true' }",
        [StepTypes.HttpCheck] = "{ url: 'http://example.com/' }",
        [StepTypes.Sleep] = "{ duration: 1s }",
        [StepTypes.WaitForSignal] = "{ name: go }",
        [StepTypes.Workflow] = "{ workflow: child }",
        [StepTypes.GitClone] = "{ instance: box, repo_url: 'https://example.com/r.git', path: /workspace/r }",
        [StepTypes.SessionOpen] = "{ instance: box }",
    };

    public static TheoryData<string, string> ReadmeOutputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var (type, outputs) in ReadStepTable())
        {
            foreach (var output in outputs)
            {
                data.Add(type, output);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ReadmeOutputs))]
    public void Every_output_the_readme_lists_can_be_referenced(string stepType, string output)
    {
        var with = s_minimalWith.GetValueOrDefault(stepType) ?? throw new InvalidOperationException($"add a minimal 'with' for {stepType} to this test");
        var result = WorkflowDefinitionReader.Read($$$"""
            name: outputs
            steps:
              - id: x
                uses: {{{stepType}}}
                with: {{{with}}}
            outputs:
              o: ${{ steps.x.outputs.{{{output}}} }}
            """, WorkflowFormat.Yaml);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
    }

    [Fact]
    public void The_readme_step_table_documents_every_step_type_and_outputs_for_the_resource_steps()
    {
        var table = ReadStepTable();

        Assert.Equal(StepTypes.All.Select(t => t.Name).Order(StringComparer.Ordinal), table.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("machine_id", table[StepTypes.InstanceCreate]);
        Assert.Contains("state", table[StepTypes.InstanceDestroy]);
        Assert.Equal(["id", "state", "cpu_kind", "cpus", "memory_mb"], table[StepTypes.InstanceResize]);
        Assert.Equal(["id", "volume_id", "size_gb"], table[StepTypes.InstanceExtendVolume]);
    }

    [Fact]
    public void Resize_extend_and_a_kept_volume_validate_with_literals_and_templates()
    {
        const string Yaml = """
            name: resources
            inputs:
              size: { type: string, default: shared-cpu-2x }
              grow_to: { type: number, default: 3 }
            steps:
              - id: make
                uses: instance.create
                with: { name: a, region: iad, size: { cpus: 1, memory_mb: 512 }, volume: { size_gb: 1, path: /data } }
              - id: bigger
                uses: instance.resize
                with: { instance: "${{ steps.make.outputs.id }}", size: "${{ inputs.size }}" }
              - id: custom
                uses: instance.resize
                with: { instance: "${{ steps.make.outputs.id }}", size: { cpus: 2, memory_mb: 4096, cpu_kind: performance } }
              - id: grow
                uses: instance.extend_volume
                with: { instance: "${{ steps.make.outputs.id }}", size_gb: "${{ inputs.grow_to }}" }
              - id: gone
                uses: instance.destroy
                with: { instance: "${{ steps.make.outputs.id }}", keep_volume: true }
              - id: again
                uses: instance.create
                with: { name: b, region: iad, size: shared-cpu-1x, volume: { id: "${{ steps.gone.outputs.volume_id }}", path: /data } }
              - id: literal
                uses: instance.create
                with: { name: c, region: iad, size: shared-cpu-1x, volume: { id: vol_9vw681egy1jj5xm4, path: /data } }
            outputs:
              memory: ${{ steps.custom.outputs.memory_mb }}
              volume: ${{ steps.grow.outputs.volume_id }}
              size: ${{ steps.grow.outputs.size_gb }}
            """;

        var result = WorkflowDefinitionReader.Read(Yaml, WorkflowFormat.Yaml);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var schema = JsonNode.Parse(WorkflowSchema.Json)!;
        Assert.Empty(MiniSchemaValidator.Validate(schema.AsObject(), JsonNode.Parse(WorkflowDefinitionWriter.ToJson(result.Definition))));
    }

    public static TheoryData<string, string, string, string, int> BadResourceSteps => new()
    {
        { "resize without a size", "instance.resize", "{ instance: b }", "missing_parameter|steps[0].with.size", 5 },
        { "resize without an instance", "instance.resize", "{ size: shared-cpu-1x }", "missing_parameter|steps[0].with.instance", 5 },
        { "resize to a number", "instance.resize", "{ instance: b, size: 42 }", "wrong_parameter_type|steps[0].with.size", 5 },
        { "resize to an unknown preset", "instance.resize", "{ instance: b, size: huge-cpu }", "invalid_parameter|steps[0].with.size", 5 },
        { "resize without memory", "instance.resize", "{ instance: b, size: { cpus: 2 } }", "missing_parameter|steps[0].with.size.memory_mb", 5 },
        { "resize with an unknown size field", "instance.resize", "{ instance: b, size: { cpus: 2, memory_mb: 512, colour: red } }", "unknown_parameter|steps[0].with.size.colour", 5 },
        { "resize to a gpu kind", "instance.resize", "{ instance: b, size: { cpus: 2, memory_mb: 512, cpu_kind: gpu } }", "wrong_parameter_type|steps[0].with.size.cpu_kind", 5 },
        { "resize with a text cpu count", "instance.resize", "{ instance: b, size: { cpus: two, memory_mb: 512 } }", "wrong_parameter_type|steps[0].with.size.cpus", 5 },
        { "extend without a size", "instance.extend_volume", "{ instance: b }", "missing_parameter|steps[0].with.size_gb", 5 },
        { "extend to text", "instance.extend_volume", "{ instance: b, size_gb: big }", "wrong_parameter_type|steps[0].with.size_gb", 5 },
        { "extend with an unknown parameter", "instance.extend_volume", "{ instance: b, size_gb: 2, shrink: true }", "unknown_parameter|steps[0].with.shrink", 5 },
        { "create with a volume id and a size", "instance.create", "{ name: b, region: iad, size: shared-cpu-1x, volume: { id: vol_abc, size_gb: 1, path: /data } }", "conflicting_parameters|steps[0].with.volume.id", 5 },
        { "create with a volume of neither", "instance.create", "{ name: b, region: iad, size: shared-cpu-1x, volume: { path: /data } }", "missing_parameter|steps[0].with.volume.size_gb", 5 },
        { "create with a volume id that is not one", "instance.create", "{ name: b, region: iad, size: shared-cpu-1x, volume: { id: disk1, path: /data } }", "wrong_parameter_type|steps[0].with.volume.id", 5 },
        { "create with a kept volume without a path", "instance.create", "{ name: b, region: iad, size: shared-cpu-1x, volume: { id: vol_abc } }", "missing_parameter|steps[0].with.volume.path", 5 },
    };

    [Theory]
    [MemberData(nameof(BadResourceSteps))]
    public void A_bad_resource_step_gets_a_located_error(string name, string uses, string with, string expected, int line)
    {
        var result = WorkflowDefinitionReader.Read($"""
            name: bad
            steps:
              - id: a
                uses: {uses}
                with: {with}
            """, WorkflowFormat.Yaml);

        var (code, path) = (expected.Split('|')[0], expected.Split('|')[1]);
        Assert.False(result.IsValid, name);
        var error = Assert.Single(result.Errors);
        Assert.Equal((code, path, line), (error.Code, error.Path, error.Line));
        Assert.True(error.Column > 0, $"{name}: no column in {error}");
    }

    [Fact]
    public void A_resize_has_no_volume_outputs_and_the_message_lists_the_ones_it_has()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: bad
            steps:
              - id: r
                uses: instance.resize
                with: { instance: b, size: shared-cpu-2x }
            outputs:
              size: ${{ steps.r.outputs.size_gb }}
            """, WorkflowFormat.Yaml);

        var error = Assert.Single(result.Errors);
        Assert.Equal((WorkflowErrorCodes.UnknownOutput, "outputs.size", 7), (error.Code, error.Path, error.Line));
        Assert.Contains("id, state, cpu_kind, cpus, memory_mb", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The README's step table: step type to the outputs it documents (captures and parenthesised notes left out).</summary>
    private static Dictionary<string, List<string>> ReadStepTable()
    {
        var readme = File.ReadAllLines(Path.Combine(RepositoryRoot(), "README.md"));
        var start = Array.FindIndex(readme, l => l.StartsWith("| step (`uses`) |", StringComparison.Ordinal));
        Assert.True(start >= 0, "README.md has no step table");
        var table = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var row in readme.Skip(start + 2).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = row.Split(" | ");
            var outputs = Parenthesised().Replace(cells[^1].TrimEnd('|', ' '), "");
            var captures = outputs.IndexOf("plus captures", StringComparison.Ordinal);
            outputs = captures >= 0 ? outputs[..captures] : outputs;
            var names = Code().Matches(outputs).Select(m => m.Groups[1].Value).Where(n => OutputName().IsMatch(n)).ToList();
            foreach (var type in Code().Matches(cells[0]).Select(m => m.Groups[1].Value))
            {
                table[type] = names;
            }
        }

        return table;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Orchestrator.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Orchestrator.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"\([^()]*\)")]
    private static partial Regex Parenthesised();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Code();

    [GeneratedRegex("^[a-z_]+$")]
    private static partial Regex OutputName();
}
