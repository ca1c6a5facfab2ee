namespace Orchestrator.Workflows.Tests;

/// <summary>
/// Every bad definition gets a located error: the code, line, column and path are all asserted,
/// and the definition is withheld so that no run can start from it.
/// </summary>
public sealed class BadDefinitionTests
{
    public sealed record BadCase(string Name, WorkflowFormat Format, string Text, string Code, int Line, int Column, string Path)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<BadCase> Cases => new(
    [
        // --- syntax ---
        new("yaml unclosed flow mapping", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: sleep
                with: { duration: 1s
            """, WorkflowErrorCodes.YamlSyntax, 6, 1, ""),
        new("yaml bad indentation", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                 uses: sleep
            """, WorkflowErrorCodes.YamlSyntax, 4, 10, ""),
        new("yaml template unquoted inside a flow mapping", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: box
                uses: instance.destroy
                with: { instance: ${{ steps.box.outputs.id }} }
            """, WorkflowErrorCodes.YamlSyntax, 5, 24, ""),
        new("yaml duplicate key", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: sleep
                uses: sleep
                with: { duration: 1s }
            """, WorkflowErrorCodes.DuplicateKey, 5, 5, "steps[0].uses"),
        new("json duplicate property", WorkflowFormat.Json, """
            {"name": "x", "name": "y",
             "steps": [{"id": "a", "uses": "sleep", "with": {"duration": "1s"}}]}
            """, WorkflowErrorCodes.DuplicateKey, 1, 15, "name"),
        new("json trailing comma", WorkflowFormat.Json, """
            {
              "name": "x",
              "steps": [],
            }
            """, WorkflowErrorCodes.JsonSyntax, 4, 1, ""),
        new("json missing colon", WorkflowFormat.Json, """
            {
              "name" "x"
            }
            """, WorkflowErrorCodes.JsonSyntax, 2, 10, ""),
        // --- structure ---
        new("missing name", WorkflowFormat.Yaml, """
            steps:
              - id: a
                uses: sleep
                with: { duration: 1s }
            """, WorkflowErrorCodes.MissingField, 1, 1, "name"),
        new("no steps", WorkflowFormat.Yaml, """
            name: x
            description: nothing to do
            """, WorkflowErrorCodes.NoSteps, 1, 1, "steps"),
        new("steps is a mapping", WorkflowFormat.Yaml, """
            name: x
            steps:
              a: { uses: sleep }
            """, WorkflowErrorCodes.WrongType, 3, 3, "steps"),
        new("misspelt top-level field", WorkflowFormat.Yaml, """
            nmae: x
            name: x
            steps:
              - id: a
                uses: sleep
                with: { duration: 1s }
            """, WorkflowErrorCodes.UnknownField, 1, 1, "nmae"),
        new("unknown step field", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: sleep
                with: { duration: 1s }
                retries: 3
            """, WorkflowErrorCodes.UnknownField, 6, 5, "steps[0].retries"),
        new("json unknown step field", WorkflowFormat.Json, """
            {"name": "x",
             "steps": [{"id": "a", "uses": "sleep", "with": {"duration": "1s"}, "when": "always"}]}
            """, WorkflowErrorCodes.UnknownField, 2, 69, "steps[0].when"),
        // --- ids ---
        new("invalid step id", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: 1st step
                uses: sleep
                with: { duration: 1s }
            """, WorkflowErrorCodes.InvalidStepId, 3, 9, "steps[0].id"),
        new("duplicate id across a branch", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: wait
                uses: sleep
                with: { duration: 1s }
              - id: fan
                uses: parallel
                branches:
                  - - id: wait
                      uses: sleep
                      with: { duration: 2s }
            """, WorkflowErrorCodes.DuplicateStepId, 9, 15, "steps[1].branches[0][0].id"),
        new("duplicate id in finally", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: sleep
                with: { duration: 1s }
            finally:
              - id: a
                uses: sleep
                with: { duration: 1s }
            """, WorkflowErrorCodes.DuplicateStepId, 7, 9, "finally[0].id"),
        // --- step types and parameters ---
        new("unknown step type", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: ssh.exe
                with: { instance: i-1, command: ls }
            """, WorkflowErrorCodes.UnknownStepType, 4, 11, "steps[0].uses"),
        new("json unknown step type", WorkflowFormat.Json, """
            {
              "name": "x",
              "steps": [
                { "id": "a", "uses": "http.get", "with": { "url": "http://example.com" } }
              ]
            }
            """, WorkflowErrorCodes.UnknownStepType, 4, 26, "steps[0].uses"),
        new("missing required parameter", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: nap
                uses: sleep
                with:
                  for: 1s
            """, WorkflowErrorCodes.MissingParameter, 6, 7, "steps[0].with.duration"),
        new("missing with entirely", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: check
                uses: http.check
            """, WorkflowErrorCodes.MissingParameter, 3, 5, "steps[0].with.url"),
        new("unknown parameter", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s, jitter: 1s }
            """, WorkflowErrorCodes.UnknownParameter, 5, 27, "steps[0].with.jitter"),
        new("wrong parameter type", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with:
                  instance: i-1
                  command: [ls, -la]
            """, WorkflowErrorCodes.WrongParameterType, 7, 16, "steps[0].with.command"),
        new("number where a list of exit codes is expected", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with:
                  instance: i-1
                  command: ls
                  accepted_exit_codes: [0, 300]
            """, WorkflowErrorCodes.WrongParameterType, 8, 32, "steps[0].with.accepted_exit_codes[1]"),
        new("both command and script", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with:
                  instance: i-1
                  command: ls
                  script: |
                    ls
            """, WorkflowErrorCodes.ConflictingParameters, 8, 15, "steps[0].with.script"),
        new("neither command nor script", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with:
                  instance: i-1
                  cwd: /tmp
            """, WorkflowErrorCodes.MissingParameter, 6, 7, "steps[0].with.command"),
        new("bad duration parameter", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: nap
                uses: sleep
                with:
                  duration: 5 minutes
            """, WorkflowErrorCodes.InvalidDuration, 6, 17, "steps[0].with.duration"),
        new("bad step timeout", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s }
                timeout: 10
            """, WorkflowErrorCodes.InvalidDuration, 6, 14, "steps[0].timeout"),
        new("bad env variable name", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: box
                uses: instance.create
                with:
                  name: box
                  region: iad
                  size: shared-cpu-1x
                  env:
                    BAD-NAME: "1"
            """, WorkflowErrorCodes.InvalidParameter, 10, 19, "steps[0].with.env.BAD-NAME"),
        new("http check with a non-http url", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: check
                uses: http.check
                with: { url: "ftp://example.com/" }
            """, WorkflowErrorCodes.InvalidParameter, 5, 18, "steps[0].with.url"),
        new("parallel without branches", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: fan
                uses: parallel
            """, WorkflowErrorCodes.InvalidBranches, 3, 5, "steps[0]"),
        // --- retry ---
        new("retry with zero attempts", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s }
                retry: { max_attempts: 0 }
            """, WorkflowErrorCodes.InvalidRetry, 6, 28, "steps[0].retry.max_attempts"),
        new("retry max shorter than initial", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s }
                retry:
                  max_attempts: 3
                  backoff: { initial: 1m, max: 10s }
            """, WorkflowErrorCodes.InvalidRetry, 8, 36, "steps[0].retry.backoff.max"),
        new("retry multiplier below one", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s }
                retry:
                  max_attempts: 3
                  backoff: { multiplier: 0.5 }
            """, WorkflowErrorCodes.InvalidRetry, 8, 30, "steps[0].retry.backoff.multiplier"),
        // --- references ---
        new("unknown input", WorkflowFormat.Yaml, """
            name: x
            inputs:
              branch: { type: string }
            steps:
              - id: run
                uses: ssh.exec
                with:
                  instance: i-1
                  command: git checkout ${{ inputs.brnch }}
            """, WorkflowErrorCodes.UnknownInput, 9, 16, "steps[0].with.command"),
        new("unknown step", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with:
                  instance: ${{ steps.machine.outputs.id }}
                  command: ls
            """, WorkflowErrorCodes.UnknownStep, 6, 17, "steps[0].with.instance"),
        new("missing output", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: box
                uses: instance.create
                with: { name: b, region: iad, size: shared-cpu-1x }
              - id: run
                uses: ssh.exec
                with:
                  instance: ${{ steps.box.outputs.machine_ip }}
                  command: ls
            """, WorkflowErrorCodes.UnknownOutput, 9, 17, "steps[1].with.instance"),
        new("undeclared ssh output", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: probe
                uses: ssh.exec
                with: { instance: i-1, command: uname -r }
                outputs: { kernel: stdout }
              - id: show
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ steps.probe.outputs.version }}" }
            """, WorkflowErrorCodes.UnknownOutput, 9, 37, "steps[1].with.command"),
        new("forward reference", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with:
                  instance: ${{ steps.box.outputs.id }}
                  command: ls
              - id: box
                uses: instance.create
                with: { name: b, region: iad, size: shared-cpu-1x }
            """, WorkflowErrorCodes.ForwardReference, 6, 17, "steps[0].with.instance"),
        new("cycle between two steps", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ steps.b.outputs.stdout }}" }
              - id: b
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ steps.a.outputs.stdout }}" }
            """, WorkflowErrorCodes.Cycle, 5, 37, "steps[0].with.command"),
        new("step reads itself", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ steps.a.outputs.stdout }}" }
            """, WorkflowErrorCodes.Cycle, 5, 37, "steps[0].with.command"),
        new("sibling branch reference", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: fan
                uses: parallel
                branches:
                  - - id: left
                      uses: ssh.exec
                      with: { instance: i-1, command: pwd }
                  - - id: right
                      uses: ssh.exec
                      with: { instance: i-1, command: "cd ${{ steps.left.outputs.stdout }}" }
            """, WorkflowErrorCodes.SiblingBranchReference, 11, 43, "steps[0].branches[1][0].with.command"),
        new("main step reads a finally step", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ steps.z.outputs.stdout }}" }
            finally:
              - id: z
                uses: ssh.exec
                with: { instance: i-1, command: echo bye }
            """, WorkflowErrorCodes.ForwardReference, 5, 37, "steps[0].with.command"),
        new("instance outside an instance step", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: check
                uses: http.check
                with: { url: "http://${{ instance.private_ip }}:3000/" }
            """, WorkflowErrorCodes.InstanceNotInScope, 5, 18, "steps[0].with.url"),
        new("unknown reference root", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ env.HOME }}" }
            """, WorkflowErrorCodes.UnknownReference, 5, 37, "steps[0].with.command"),
        new("instance used to name the instance itself", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: "${{ instance.id }}", command: ls }
            """, WorkflowErrorCodes.InstanceNotInScope, 5, 23, "steps[0].with.instance"),
        new("workflow output reads an unknown step", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: sleep
                with: { duration: 1s }
            outputs:
              url: http://${{ steps.web.outputs.url }}
            """, WorkflowErrorCodes.UnknownStep, 7, 8, "outputs.url"),
        new("yes is not a boolean", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: a
                uses: sleep
                with: { duration: 1s }
                continue_on_error: yes
            """, WorkflowErrorCodes.WrongType, 6, 24, "steps[0].continue_on_error"),
        // --- expressions and templates ---
        new("condition ends early", WorkflowFormat.Yaml, """
            name: x
            inputs:
              deploy: { type: boolean, default: false }
            steps:
              - id: nap
                uses: sleep
                if: inputs.deploy ==
                with: { duration: 1s }
            """, WorkflowErrorCodes.ExpressionSyntax, 7, 9, "steps[0].if"),
        new("unknown function in condition", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: nap
                uses: sleep
                if: exec('id') == 'root'
                with: { duration: 1s }
            """, WorkflowErrorCodes.UnknownFunction, 5, 9, "steps[0].if"),
        new("unclosed template", WorkflowFormat.Yaml, """
            name: x
            inputs:
              who: { type: string, default: world }
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ inputs.who" }
            """, WorkflowErrorCodes.TemplateSyntax, 7, 37, "steps[0].with.command"),
        new("unknown filter", WorkflowFormat.Yaml, """
            name: x
            inputs:
              who: { type: string, default: world }
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ inputs.who | sh }}" }
            """, WorkflowErrorCodes.UnknownFilter, 7, 37, "steps[0].with.command"),
        // --- outputs ---
        new("invalid regex", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: i-1, command: node --version }
                outputs:
                  version: { regex: 'v(?<version>[0-9+' }
            """, WorkflowErrorCodes.InvalidRegex, 7, 25, "steps[0].outputs.version.regex"),
        new("regex without the named group", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: i-1, command: node --version }
                outputs:
                  version: { regex: 'v([0-9.]+)' }
            """, WorkflowErrorCodes.InvalidRegex, 7, 25, "steps[0].outputs.version.regex"),
        new("invalid json path", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: i-1, command: cat package.json }
                outputs:
                  name: { json: name.first }
            """, WorkflowErrorCodes.InvalidJsonPath, 7, 21, "steps[0].outputs.name.json"),
        new("outputs on a step type that has none", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s }
                outputs: { done: stdout }
            """, WorkflowErrorCodes.OutputsNotSupported, 6, 22, "steps[0].outputs.done"),
        // --- inputs and injection attempts ---
        new("default of the wrong type", WorkflowFormat.Yaml, """
            name: x
            inputs:
              count: { type: number, default: three }
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s }
            """, WorkflowErrorCodes.InputDefaultMismatch, 3, 35, "inputs.count.default"),
        new("unknown input type", WorkflowFormat.Yaml, """
            name: x
            inputs:
              count: { type: integr }
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s }
            """, WorkflowErrorCodes.InvalidInput, 3, 18, "inputs.count.type"),
        new("injection: default that tries to read a secret", WorkflowFormat.Yaml, """
            name: x
            inputs:
              branch: { type: string, default: "main ${{ secrets.DEPLOY_KEY }}" }
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s }
            """, WorkflowErrorCodes.TemplateNotAllowed, 3, 36, "inputs.branch.default"),
        new("injection: input name with shell syntax", WorkflowFormat.Yaml, """
            name: x
            inputs:
              "x;rm -rf ~": { type: string }
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1s }
            """, WorkflowErrorCodes.InvalidName, 3, 3, "inputs.x;rm -rf ~"),
        new("injection: shell in a condition", WorkflowFormat.Yaml, """
            name: x
            inputs:
              branch: { type: string, default: main }
            steps:
              - id: nap
                uses: sleep
                if: inputs.branch; rm -rf /
                with: { duration: 1s }
            """, WorkflowErrorCodes.ExpressionSyntax, 7, 9, "steps[0].if"),
        new("injection: nested template", WorkflowFormat.Yaml, """
            name: x
            inputs:
              who: { type: string, default: world }
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ ${{ inputs.who }} }}" }
            """, WorkflowErrorCodes.ExpressionSyntax, 7, 37, "steps[0].with.command"),
        new("injection: secret leaked into a machine name", WorkflowFormat.Yaml, """
            name: x
            steps:
              - id: box
                uses: instance.create
                with: { name: "box-${{ secrets.API_TOKEN }}", region: iad, size: shared-cpu-1x }
            """, WorkflowErrorCodes.SecretNotAllowed, 5, 19, "steps[0].with.name"),
    ]);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_definition_is_rejected_with_a_located_error(BadCase bad)
    {
        var result = WorkflowDefinitionReader.Read(bad.Text, bad.Format);

        Assert.Null(result.Definition);
        Assert.False(result.IsValid);
        var error = result.Errors.FirstOrDefault(e => e.Code == bad.Code);
        Assert.True(error is not null, $"No {bad.Code} error; got: {string.Join(" | ", result.Errors)}");
        Assert.Equal((bad.Line, bad.Column, bad.Path), (error.Line, error.Column, error.Path));
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void The_table_has_at_least_thirty_cases_and_covers_every_category()
    {
        var cases = ((IEnumerable<object[]>)Cases).Select(row => (BadCase)row[0]).ToList();

        Assert.True(cases.Count >= 30, $"only {cases.Count} cases");
        Assert.Contains(cases, c => c.Code == WorkflowErrorCodes.YamlSyntax);
        Assert.Contains(cases, c => c.Code == WorkflowErrorCodes.JsonSyntax);
        Assert.Contains(cases, c => c.Code == WorkflowErrorCodes.Cycle);
        Assert.Contains(cases, c => c.Code == WorkflowErrorCodes.UnknownOutput);
        Assert.Contains(cases, c => c.Code == WorkflowErrorCodes.ExpressionSyntax);
        Assert.Contains(cases, c => c.Name.StartsWith("injection", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_error_of_a_definition_is_reported_not_just_the_first()
    {
        const string yaml = """
            name: x
            inputs:
              n: { type: number, default: "1" }
            steps:
              - id: a
                uses: slep
              - id: a
                uses: sleep
                with: { duration: soon }
              - id: c
                uses: ssh.exec
                with: { instance: i-1, command: "echo ${{ inputs.missing }}", script: ls }
            """;

        var result = WorkflowDefinitionReader.Read(yaml, WorkflowFormat.Yaml);

        Assert.Equal(
            [
                (WorkflowErrorCodes.InputDefaultMismatch, 3),
                (WorkflowErrorCodes.UnknownStepType, 6),
                (WorkflowErrorCodes.DuplicateStepId, 7),
                (WorkflowErrorCodes.InvalidDuration, 9),
                (WorkflowErrorCodes.UnknownInput, 12),
                (WorkflowErrorCodes.ConflictingParameters, 12),
            ],
            result.Errors.Select(e => (e.Code, e.Line)));
    }

    [Fact]
    public void Unknown_step_type_suggests_the_nearest_known_type()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: x
            steps:
              - id: a
                uses: ssh.exe
                with: { instance: i-1, command: ls }
            """, WorkflowFormat.Yaml);

        var error = Assert.Single(result.Errors);
        Assert.Contains("Did you mean 'ssh.exec'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_reference_message_names_the_later_step_and_says_what_to_do()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: x
            steps:
              - id: run
                uses: ssh.exec
                with: { instance: "${{ steps.box.outputs.id }}", command: ls }
              - id: box
                uses: instance.create
                with: { name: b, region: iad, size: shared-cpu-1x }
            """, WorkflowFormat.Yaml);

        var error = Assert.Single(result.Errors);
        Assert.Equal(WorkflowErrorCodes.ForwardReference, error.Code);
        Assert.Contains("steps[1]", error.Message, StringComparison.Ordinal);
        Assert.Contains("Move this step after it", error.Message, StringComparison.Ordinal);
    }
}
