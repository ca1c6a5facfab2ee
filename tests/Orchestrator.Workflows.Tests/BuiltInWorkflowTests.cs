namespace Orchestrator.Workflows.Tests;

public sealed class BuiltInWorkflowTests
{
    public static TheoryData<string> Names => new(BuiltInWorkflows.Names);

    [Theory]
    [MemberData(nameof(Names))]
    public void Each_built_in_reads_and_validates_clean(string name)
    {
        var result = WorkflowDefinitionReader.Read(BuiltInWorkflows.GetYaml(name), WorkflowFormat.Yaml);

        Assert.Empty(result.Errors);
        Assert.NotNull(result.Definition);
        Assert.Equal(name, result.Definition.Name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Each_built_in_destroys_its_instance_in_finally_on_failure_or_cancel_unless_kept(string name)
    {
        var definition = BuiltInWorkflows.Get(name);

        var cleanup = Assert.Single(definition.Finally);
        Assert.Equal(StepTypes.InstanceDestroy, cleanup.Uses);
        Assert.Contains("failure()", cleanup.If, StringComparison.Ordinal);
        Assert.Contains("cancelled()", cleanup.If, StringComparison.Ordinal);
        Assert.Contains("!inputs.keep", cleanup.If, StringComparison.Ordinal);
        Assert.Equal(InputType.Boolean, definition.Inputs["keep"].Type);
        Assert.Equal(WorkflowValue.False, definition.Inputs["keep"].Default);
    }

    [Fact]
    public void Repo_preview_clones_the_branch_checks_health_and_reports_the_address()
    {
        var definition = BuiltInWorkflows.Get(BuiltInWorkflows.RepoPreview);

        Assert.True(definition.Inputs["repo_url"].Required);
        Assert.Equal(new StringValue("main"), definition.Inputs["branch"].Default);
        var machine = definition.Steps[0];
        Assert.Equal(StepTypes.InstanceCreate, machine.Uses);
        Assert.IsType<MapValue>(machine.With["volume"]);
        Assert.IsType<MapValue>(machine.With["env"]);
        Assert.Contains(definition.Steps, s => s.Uses == StepTypes.SshExec && s.With["command"].ToText().Contains("git clone", StringComparison.Ordinal));
        Assert.Equal(StepTypes.HttpCheck, definition.Steps[^1].Uses);
        Assert.Contains("preview_url", definition.Outputs.Keys);
    }

    [Fact]
    public void Code_server_takes_its_password_from_a_secret_through_the_environment_and_has_a_public_ip()
    {
        var definition = BuiltInWorkflows.Get(BuiltInWorkflows.CodeServer);

        Assert.Equal(WorkflowValue.True, definition.Steps[0].With["public_ip"]);
        Assert.IsType<MapValue>(definition.Steps[0].With["volume"]);
        var start = definition.Steps.Single(s => s.Id == "start");
        var env = Assert.IsType<MapValue>(start.With["env"]);
        Assert.Equal(new StringValue("${{ secrets.CODE_SERVER_PASSWORD }}"), env.Entries["PASSWORD"]);
        Assert.DoesNotContain("secrets.", start.With["script"].ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_built_in_name_is_refused_with_the_list()
    {
        var exception = Assert.Throws<KeyNotFoundException>(() => BuiltInWorkflows.GetYaml("windows-box"));

        Assert.Contains("ubuntu-box", exception.Message, StringComparison.Ordinal);
    }
}

/// <summary>The environment workflow and what it relies on: mapping parameters given as one interpolation, and git.clone.</summary>
public sealed class EnvironmentWorkflowTests
{
    [Fact]
    public void Environment_clones_into_the_workspace_with_the_credentials_secret_and_runs_setup_there()
    {
        var definition = BuiltInWorkflows.Get(BuiltInWorkflows.Environment);

        Assert.Equal(["name", "instance", "repo_url"], definition.Inputs.Where(i => i.Value.Required).Select(i => i.Key));
        Assert.Equal(new StringValue("${{ inputs.instance }}"), definition.Steps[0].With["name"]);
        Assert.Equal(new StringValue("${{ inputs.env }}"), definition.Steps[0].With["env"]);
        var clone = definition.Steps.Single(s => s.Uses == StepTypes.GitClone);
        Assert.Equal(new StringValue("/workspace/${{ inputs.name }}"), clone.With["path"]);
        Assert.Equal(new StringValue("${{ inputs.git_credentials_secret }}"), clone.With["credentials_secret"]);
        var setup = definition.Steps.Single(s => s.Id == "setup");
        Assert.Equal(new StringValue("/workspace/${{ inputs.name }}"), setup.With["cwd"]);
        var session = definition.Steps.Single(s => s.Uses == StepTypes.SessionOpen);
        Assert.Equal(new StringValue("/workspace/${{ inputs.name }}"), session.With["cwd"]);
        Assert.Equal(new StringValue("${{ inputs.instance }}"), definition.Finally[0].With["instance"]);
        // No secret is referenced statically: the clone step reads the one secret it names, for itself only.
        Assert.Empty(SecretReferences.In(definition));
    }

    [Theory]
    [InlineData("env: ${{ inputs.m }}", true)]
    [InlineData("volume: ${{ inputs.m }}", true)]
    [InlineData("env: \"A=${{ inputs.m }}\"", false)]
    [InlineData("volume: \"${{ inputs.m }} and more\"", false)]
    public void A_mapping_parameter_takes_a_template_only_when_it_is_one_interpolation(string parameter, bool valid)
    {
        var yaml = $$"""
            name: maps
            inputs:
              m: { type: object }
            steps:
              - id: make
                uses: instance.create
                with:
                  name: box
                  region: ams
                  size: shared-cpu-1x
                  {{parameter}}
            """;

        var result = WorkflowDefinitionReader.Read(yaml, WorkflowFormat.Yaml);

        Assert.True(result.IsValid == valid, string.Join("\n", result.Errors));
    }
}
