namespace Orchestrator.Workflows.Tests;

public sealed class ReaderTests
{
    internal const string Yaml = """
        # Every field of the language, once.
        name: full-example
        description: Exercises every field.
        inputs:
          greeting: { type: string, default: héllo, description: What to say }
          count: { type: number, default: 2.5 }
          deploy: { type: boolean, default: true }
          settings: { type: object, default: { region: iad, sizes: [1, 2] } }
          token: { type: string, required: true, secret: true }
        steps:
          - id: box
            uses: instance.create
            with:
              name: hello-${{ run.id }}
              region: iad
              size: shared-cpu-1x
              image: ubuntu:24.04
              env: { GREETING: "${{ inputs.greeting }}", PORT: 8080 }
              volume: { size_gb: 5, path: /data }
              public_ip: false
          - id: say
            uses: ssh.exec
            if: inputs.deploy && inputs.count > 1
            with:
              instance: ${{ steps.box.outputs.id }}
              command: echo ${{ inputs.greeting }} from ${{ instance.private_ip }}
              env: { TOKEN: "${{ inputs.token }}" }
              cwd: /tmp
              timeout: 30s
              accepted_exit_codes: [0, 3]
            outputs:
              text: stdout
              errors: stderr
              version: { json: "$.app['version']" }
              build: { regex: 'build=(?<n>[0-9]+)', group: n }
            retry: { max_attempts: 3, backoff: { initial: 1s, max: 30s, multiplier: 1.5 } }
            timeout: 2m
            continue_on_error: true
          - id: fan
            uses: parallel
            branches:
              - - id: left
                  uses: sleep
                  with: { duration: 500ms }
              - - id: right
                  uses: http.check
                  with: { url: "http://[${{ steps.box.outputs.private_ip }}]:8080/", expect_status: [200, 204], timeout: 1m, interval: 2s }
                  outputs: { page: body }
                - id: after_right
                  uses: sleep
                  with: { duration: "${{ steps.right.outputs.page }}" }
          - id: approve
            uses: wait_for_signal
            with: { name: approval, timeout: 1h30m }
          - id: child
            uses: workflow
            with: { workflow: other, version: 3, inputs: { who: "${{ steps.approve.outputs.payload }}", n: 1 } }
          - id: pause
            uses: instance.stop
            with: { instance: "${{ steps.box.outputs.id }}" }
          - id: resume
            uses: instance.start
            with: { instance: "${{ steps.box.outputs.id }}" }
        finally:
          - id: cleanup
            uses: instance.destroy
            if: ${{ failure() || cancelled() }}
            with: { instance: "${{ steps.box.outputs.id }}", keep_volume: true }
        outputs:
          said: ${{ steps.say.outputs.text }}
          child_run: ${{ steps.child.outputs.run_id }}
        """;

    internal const string Json = """
        {
          "name": "full-example",
          "description": "Exercises every field.",
          "inputs": {
            "greeting": { "type": "string", "default": "héllo", "description": "What to say" },
            "count": { "type": "number", "default": 2.5 },
            "deploy": { "type": "boolean", "default": true },
            "settings": { "type": "object", "default": { "region": "iad", "sizes": [1, 2] } },
            "token": { "type": "string", "required": true, "secret": true }
          },
          "steps": [
            {
              "id": "box", "uses": "instance.create",
              "with": {
                "name": "hello-${{ run.id }}", "region": "iad", "size": "shared-cpu-1x", "image": "ubuntu:24.04",
                "env": { "GREETING": "${{ inputs.greeting }}", "PORT": 8080 },
                "volume": { "size_gb": 5, "path": "/data" },
                "public_ip": false
              }
            },
            {
              "id": "say", "uses": "ssh.exec",
              "if": "inputs.deploy && inputs.count > 1",
              "with": {
                "instance": "${{ steps.box.outputs.id }}",
                "command": "echo ${{ inputs.greeting }} from ${{ instance.private_ip }}",
                "env": { "TOKEN": "${{ inputs.token }}" },
                "cwd": "/tmp", "timeout": "30s", "accepted_exit_codes": [0, 3]
              },
              "outputs": {
                "text": "stdout",
                "errors": "stderr",
                "version": { "json": "$.app['version']" },
                "build": { "regex": "build=(?<n>[0-9]+)", "group": "n" }
              },
              "retry": { "max_attempts": 3, "backoff": { "initial": "1s", "max": "30s", "multiplier": 1.5 } },
              "timeout": "2m",
              "continue_on_error": true
            },
            {
              "id": "fan", "uses": "parallel",
              "branches": [
                [ { "id": "left", "uses": "sleep", "with": { "duration": "500ms" } } ],
                [
                  { "id": "right", "uses": "http.check",
                    "with": { "url": "http://[${{ steps.box.outputs.private_ip }}]:8080/", "expect_status": [200, 204], "timeout": "1m", "interval": "2s" },
                    "outputs": { "page": "body" } },
                  { "id": "after_right", "uses": "sleep", "with": { "duration": "${{ steps.right.outputs.page }}" } }
                ]
              ]
            },
            { "id": "approve", "uses": "wait_for_signal", "with": { "name": "approval", "timeout": "1h30m" } },
            { "id": "child", "uses": "workflow", "with": { "workflow": "other", "version": 3, "inputs": { "who": "${{ steps.approve.outputs.payload }}", "n": 1 } } },
            { "id": "pause", "uses": "instance.stop", "with": { "instance": "${{ steps.box.outputs.id }}" } },
            { "id": "resume", "uses": "instance.start", "with": { "instance": "${{ steps.box.outputs.id }}" } }
          ],
          "finally": [
            { "id": "cleanup", "uses": "instance.destroy", "if": "${{ failure() || cancelled() }}",
              "with": { "instance": "${{ steps.box.outputs.id }}", "keep_volume": true } }
          ],
          "outputs": {
            "said": "${{ steps.say.outputs.text }}",
            "child_run": "${{ steps.child.outputs.run_id }}"
          }
        }
        """;

    [Fact]
    public void Yaml_and_json_of_the_same_workflow_read_into_equal_records()
    {
        var fromYaml = WorkflowDefinitionReader.Read(Yaml, WorkflowFormat.Yaml);
        var fromJson = WorkflowDefinitionReader.Read(Json, WorkflowFormat.Json);

        Assert.Empty(fromYaml.Errors);
        Assert.Empty(fromJson.Errors);
        Assert.Equal(fromYaml.Definition, fromJson.Definition);
        Assert.Equal(fromYaml.Definition!.GetHashCode(), fromJson.Definition!.GetHashCode());
    }

    [Fact]
    public void Records_carry_the_typed_values_of_every_field()
    {
        var definition = WorkflowDefinitionReader.Read(Yaml, WorkflowFormat.Yaml).Definition!;

        Assert.Equal(new InputDefinition(InputType.Number, new NumberValue(2.5m), false, null, false), definition.Inputs["count"]);
        Assert.True(definition.Inputs["token"].Secret);
        var say = definition.Steps[1];
        Assert.Equal(new RetryPolicy(3, new BackoffPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 1.5m)), say.Retry);
        Assert.Equal(TimeSpan.FromMinutes(2), say.Timeout);
        Assert.True(say.ContinueOnError);
        Assert.Equal(new OutputCapture(OutputSource.Stderr, CaptureKind.Text, null, null), say.Outputs["errors"]);
        Assert.Equal(new OutputCapture(OutputSource.Stdout, CaptureKind.Json, "$.app['version']", null), say.Outputs["version"]);
        Assert.Equal(new OutputCapture(OutputSource.Stdout, CaptureKind.Regex, "build=(?<n>[0-9]+)", "n"), say.Outputs["build"]);
        Assert.Equal(new ListValue(new([new NumberValue(0), new NumberValue(3)])), say.With["accepted_exit_codes"]);
        var fan = definition.Steps[2];
        Assert.Equal(["left"], fan.Branches[0].Select(s => s.Id));
        Assert.Equal(["right", "after_right"], fan.Branches[1].Select(s => s.Id));
        Assert.Equal(new ChildWorkflowCall("other", "3", ((MapValue)definition.Steps[4].With["inputs"]).Entries), definition.Steps[4].ChildWorkflow);
        Assert.Null(say.ChildWorkflow);
        Assert.Equal(
            ["box", "say", "fan", "left", "right", "after_right", "approve", "child", "pause", "resume", "cleanup"],
            definition.AllSteps().Select(s => s.Id));
    }

    [Fact]
    public void Written_json_reads_back_into_an_equal_record()
    {
        var definition = WorkflowDefinitionReader.Read(Yaml, WorkflowFormat.Yaml).Definition!;

        var json = WorkflowDefinitionWriter.ToJson(definition);
        var reread = WorkflowDefinitionReader.Read(json, WorkflowFormat.Json);

        Assert.Empty(reread.Errors);
        Assert.Equal(definition, reread.Definition);
    }

    [Theory]
    [MemberData(nameof(BuiltInWorkflowTests.Names), MemberType = typeof(BuiltInWorkflowTests))]
    public void Built_in_written_as_json_reads_back_equal(string name)
    {
        var definition = BuiltInWorkflows.Get(name);

        var reread = WorkflowDefinitionReader.Read(WorkflowDefinitionWriter.ToJson(definition, indented: false), WorkflowFormat.Json);

        Assert.Equal(definition, reread.Definition);
    }

    [Fact]
    public void Json_columns_count_characters_not_bytes()
    {
        // "é" and "✓" are 2 and 3 bytes in UTF-8; the reported column must still be the character column.
        var result = WorkflowDefinitionReader.Read("""{"description": "é✓", "name": "x", "steps": [{"id": "a", "uses": "nope"}]}""", WorkflowFormat.Json);

        var error = Assert.Single(result.Errors);
        Assert.Equal((1, 66), (error.Line, error.Column));
    }

    [Fact]
    public void Yaml_anchors_and_aliases_are_resolved()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: x
            steps:
              - id: a
                uses: sleep
                with: &wait { duration: 1s }
              - id: b
                uses: sleep
                with: *wait
            """, WorkflowFormat.Yaml);

        Assert.Empty(result.Errors);
        Assert.Equal(result.Definition!.Steps[0].With, result.Definition.Steps[1].With);
    }

    [Fact]
    public void Quoted_yaml_scalars_stay_strings_and_plain_ones_are_typed()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: x
            inputs:
              a: { type: string, default: "123" }
              b: { type: number, default: 123 }
              c: { type: boolean, default: false }
              d: { type: string, default: 'true' }
            steps:
              - id: a
                uses: sleep
                with: { duration: 1s }
            """, WorkflowFormat.Yaml);

        Assert.Empty(result.Errors);
        var inputs = result.Definition!.Inputs;
        Assert.Equal(new StringValue("123"), inputs["a"].Default);
        Assert.Equal(new NumberValue(123), inputs["b"].Default);
        Assert.Equal(WorkflowValue.False, inputs["c"].Default);
        Assert.Equal(new StringValue("true"), inputs["d"].Default);
    }

    [Fact]
    public void Empty_and_multi_document_yaml_are_errors()
    {
        Assert.Equal(WorkflowErrorCodes.MissingField, Assert.Single(WorkflowDefinitionReader.Read("", WorkflowFormat.Yaml).Errors).Code);
        var multi = WorkflowDefinitionReader.Read("name: a\nsteps: [{id: a, uses: sleep, with: {duration: 1s}}]\n---\nname: b\n", WorkflowFormat.Yaml);
        var error = Assert.Single(multi.Errors);
        Assert.Equal((WorkflowErrorCodes.UnsupportedYaml, 3, 1), (error.Code, error.Line, error.Column));
    }

    [Theory]
    [InlineData("  {\"name\": 1}", WorkflowFormat.Json)]
    [InlineData("[1]", WorkflowFormat.Json)]
    [InlineData("name: x", WorkflowFormat.Yaml)]
    public void Format_is_detected_from_the_first_character(string text, WorkflowFormat expected)
    {
        Assert.Equal(expected, WorkflowDefinitionReader.DetectFormat(text));
    }
}
