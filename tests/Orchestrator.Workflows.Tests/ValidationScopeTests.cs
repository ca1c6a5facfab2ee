namespace Orchestrator.Workflows.Tests;

/// <summary>What each place in a definition may read: the rules that decide forward, sibling and finally references.</summary>
public sealed class ValidationScopeTests
{
    [Fact]
    public void Branches_read_earlier_steps_later_steps_read_branches_and_finally_reads_everything()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: scopes
            inputs:
              dir: { type: string, default: /tmp }
            steps:
              - id: box
                uses: instance.create
                with: { name: b, region: iad, size: shared-cpu-1x }
              - id: fan
                uses: parallel
                branches:
                  - - id: left
                      uses: ssh.exec
                      with: { instance: "${{ steps.box.outputs.id }}", command: "ls ${{ inputs.dir }}" }
                    - id: left2
                      uses: ssh.exec
                      with: { instance: "${{ steps.box.outputs.id }}", command: "echo ${{ steps.left.outputs.stdout }}" }
                  - - id: right
                      uses: ssh.exec
                      with: { instance: "${{ steps.box.outputs.id }}", command: "echo ${{ instance.private_ip }} ${{ run.id }}" }
              - id: join
                uses: ssh.exec
                if: steps.left.outputs.exit_code == 0 && steps.right.status == 'succeeded'
                with: { instance: "${{ steps.box.outputs.id }}", command: "echo ${{ steps.left2.outputs.stdout }} ${{ steps.right.outputs.stdout }}" }
            finally:
              - id: report
                uses: ssh.exec
                if: always()
                with: { instance: "${{ steps.box.outputs.id }}", command: "echo ${{ steps.join.outputs.stdout }} ${{ steps.left.outputs.stderr }}", env: { T: "${{ secrets.TOKEN }}" } }
              - id: cleanup
                uses: instance.destroy
                with: { instance: "${{ steps.box.outputs.id }}" }
            outputs:
              joined: ${{ steps.join.outputs.stdout }}
            """, WorkflowFormat.Yaml);

        Assert.Empty(result.Errors);
        Assert.True(result.IsValid);
    }

    [Fact]
    public void A_branch_cannot_read_the_parallel_step_that_contains_it()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: x
            steps:
              - id: fan
                uses: parallel
                branches:
                  - - id: inner
                      uses: sleep
                      if: steps.fan.status == 'running'
                      with: { duration: 1s }
            """, WorkflowFormat.Yaml);

        var error = Assert.Single(result.Errors);
        Assert.Equal((WorkflowErrorCodes.ForwardReference, "steps[0].branches[0][0].if", 8, 15), (error.Code, error.Path, error.Line, error.Column));
    }

    [Fact]
    public void A_three_step_cycle_names_every_step_in_the_loop()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: x
            steps:
              - id: a
                uses: ssh.exec
                with: { instance: i, command: "echo ${{ steps.c.outputs.stdout }}" }
              - id: b
                uses: ssh.exec
                with: { instance: i, command: "echo ${{ steps.a.outputs.stdout }}" }
              - id: c
                uses: ssh.exec
                with: { instance: i, command: "echo ${{ steps.b.outputs.stdout }}" }
            """, WorkflowFormat.Yaml);

        var error = Assert.Single(result.Errors);
        Assert.Equal(WorkflowErrorCodes.Cycle, error.Code);
        Assert.Contains("a -> c -> b -> a", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Workflow_step_outputs_are_not_checked_because_the_child_decides_them()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: x
            steps:
              - id: child
                uses: workflow
                with: { workflow: repo-preview, inputs: { repo_url: "https://example.com/r.git" } }
              - id: use
                uses: http.check
                with: { url: "${{ steps.child.outputs.preview_url }}" }
            """, WorkflowFormat.Yaml);

        Assert.Empty(result.Errors);
    }
}

/// <summary>Hostile documents are refused with an error instead of exhausting the stack.</summary>
public sealed class HostileDocumentTests
{
    [Fact]
    public void Deeply_nested_yaml_is_a_syntax_error()
    {
        var yaml = "name: x\nsteps: " + new string('[', 10_000) + new string(']', 10_000) + "\n";

        var error = Assert.Single(WorkflowDefinitionReader.Read(yaml, WorkflowFormat.Yaml).Errors);

        Assert.Equal(WorkflowErrorCodes.YamlSyntax, error.Code);
        Assert.Equal(2, error.Line);
        Assert.Contains("deeper than 128", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deeply_nested_json_is_a_syntax_error()
    {
        var json = "{\"name\": \"x\", \"steps\": " + new string('[', 10_000) + new string(']', 10_000) + "}";

        var error = Assert.Single(WorkflowDefinitionReader.Read(json, WorkflowFormat.Json).Errors);

        Assert.Equal((WorkflowErrorCodes.JsonSyntax, 1), (error.Code, error.Line));
    }

    [Theory]
    [InlineData('(')]
    [InlineData('!')]
    public void Deeply_nested_condition_is_an_expression_error(char opener)
    {
        var condition = new string(opener, 50_000) + "true" + (opener == '(' ? new string(')', 50_000) : "");
        var yaml = $"name: x\nsteps:\n  - id: a\n    uses: sleep\n    if: \"{condition}\"\n    with: {{ duration: 1s }}\n";

        var error = Assert.Single(WorkflowDefinitionReader.Read(yaml, WorkflowFormat.Yaml).Errors);

        Assert.Equal((WorkflowErrorCodes.ExpressionSyntax, "steps[0].if", 5, 9), (error.Code, error.Path, error.Line, error.Column));
    }

    [Fact]
    public void Each_capture_has_a_truncated_flag_that_later_steps_may_read()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: flags
            steps:
              - id: print
                uses: ssh.exec
                with: { instance: box, command: "cat big.json" }
                outputs:
                  items: { json: $.items }
              - id: report
                uses: ssh.exec
                if: ${{ steps.print.outputs.items_truncated }}
                with: { instance: box, command: "echo cut" }
            """, WorkflowFormat.Yaml);

        Assert.Empty(result.Errors);
    }

    [Fact]
    public void A_capture_may_not_take_the_name_of_another_captures_truncated_flag()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: clash
            steps:
              - id: print
                uses: ssh.exec
                with: { instance: box, command: "cat big.json" }
                outputs:
                  items: { json: $.items }
                  items_truncated: { json: $.more }
            """, WorkflowFormat.Yaml);

        var error = Assert.Single(result.Errors);
        Assert.Equal((WorkflowErrorCodes.InvalidOutput, "steps[0].outputs.items_truncated"), (error.Code, error.Path));
        Assert.Contains("'items'", error.Message, StringComparison.Ordinal);
    }
}
