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
