using System.Text;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.Workflows;
using Orchestrator.Workflows;

namespace Orchestrator.Gateway.Tests;

public sealed class WorkflowRequestTests
{
    private const string Yaml = "name: hello\nsteps:\n  - id: nap\n    uses: sleep\n    with: { duration: 10ms }\n";
    private const string JsonText = """{"name":"hello","steps":[{"id":"nap","uses":"sleep","with":{"duration":"10ms"}}]}""";

    [Theory]
    [InlineData("application/json", "{}", WorkflowFormat.Json)]
    [InlineData("application/json; charset=utf-8", "name: x", WorkflowFormat.Json)]
    [InlineData("application/yaml", "{\"name\":\"x\"}", WorkflowFormat.Yaml)]
    [InlineData("application/x-yaml", "name: x", WorkflowFormat.Yaml)]
    [InlineData("text/yaml", "name: x", WorkflowFormat.Yaml)]
    [InlineData("TEXT/YAML", "name: x", WorkflowFormat.Yaml)]
    [InlineData("application/vnd.orchestrator.workflow+yaml", "name: x", WorkflowFormat.Yaml)]
    [InlineData("application/vnd.orchestrator.workflow+json", "{}", WorkflowFormat.Json)]
    [InlineData("text/plain", "  \n{\"name\":\"x\"}", WorkflowFormat.Json)]
    [InlineData("text/plain", "name: x", WorkflowFormat.Yaml)]
    [InlineData("application/octet-stream", "[1]", WorkflowFormat.Json)]
    [InlineData(null, "{\"name\":\"x\"}", WorkflowFormat.Json)]
    [InlineData(null, "# a comment\nname: x", WorkflowFormat.Yaml)]
    [InlineData("", "name: x", WorkflowFormat.Yaml)]
    public void TheContentTypeChoosesTheFormatAndPlainTextIsDetected(string? contentType, string text, WorkflowFormat expected)
    {
        Assert.Equal(expected, WorkflowRequest.ChooseFormat(contentType, text));
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("text/html")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("not a media type")]
    public void OtherContentTypesAreNotDefinitions(string contentType)
    {
        Assert.Null(WorkflowRequest.ChooseFormat(contentType, Yaml));
    }

    [Fact]
    public void TheSameDefinitionReadsTheSameFromYamlAndJson()
    {
        var fromYaml = WorkflowDefinitionReader.Read(Yaml, WorkflowRequest.ChooseFormat("text/plain", Yaml)!.Value);
        var fromJson = WorkflowDefinitionReader.Read(JsonText, WorkflowRequest.ChooseFormat("text/plain", JsonText)!.Value);

        Assert.True(fromYaml.IsValid, string.Join("; ", fromYaml.Errors));
        Assert.True(fromJson.IsValid, string.Join("; ", fromJson.Errors));
        Assert.Equal(fromYaml.Definition.Name, fromJson.Definition.Name);
        Assert.Equal(fromYaml.Definition.Steps.Select(s => (s.Id, s.Uses)), fromJson.Definition.Steps.Select(s => (s.Id, s.Uses)));
    }

    [Theory]
    [InlineData("hello", true)]
    [InlineData("repo-preview", true)]
    [InlineData("v2", true)]
    [InlineData("Hello", false)]
    [InlineData("hello.world", false)]
    [InlineData("hello_world", false)]
    [InlineData("", false)]
    [InlineData("hello\n", false)]
    public void WorkflowNamesInPathsAreLowercaseLettersDigitsAndDashes(string name, bool valid)
    {
        Assert.Equal(valid, WorkflowRequest.ValidateName(name) is null);
    }

    [Fact]
    public void ABodyIsReadAsUtf8WithoutItsByteOrderMark()
    {
        var (text, problem) = RequestText.Decode([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("name: héllo")]);

        Assert.Null(problem);
        Assert.Equal("name: héllo", text);
    }

    [Fact]
    public void ABodyThatIsNotUtf8IsABadRequestNamingTheBody()
    {
        var (text, problem) = RequestText.Decode([0x6E, 0xFF, 0xFE]);

        Assert.Null(text);
        var details = RunRequestTests.AssertProblem(problem, 400, InstanceProblems.Validation);
        Assert.Equal("body", details.Extensions["field"]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ABodyOverTheLimitIs413WhetherOrNotItsLengthWasDeclared(bool declared)
    {
        var context = new DefaultHttpContext();
        var bytes = new byte[WorkflowRequest.MaxDefinitionBytes + 1];
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = declared ? bytes.Length : null;

        var (text, problem) = await RequestText.ReadAsync(context.Request, WorkflowRequest.MaxDefinitionBytes, CancellationToken.None);

        Assert.Null(text);
        var details = RunRequestTests.AssertProblem(problem, 413, WorkflowProblems.PayloadTooLarge);
        Assert.Equal(WorkflowRequest.MaxDefinitionBytes, details.Extensions["limit_bytes"]);
    }

    [Fact]
    public async Task ABodyOfExactlyTheLimitIsRead()
    {
        var context = new DefaultHttpContext();
        context.Request.Body = new MemoryStream(Encoding.ASCII.GetBytes(new string('#', WorkflowRequest.MaxDefinitionBytes)));

        var (text, problem) = await RequestText.ReadAsync(context.Request, WorkflowRequest.MaxDefinitionBytes, CancellationToken.None);

        Assert.Null(problem);
        Assert.Equal(WorkflowRequest.MaxDefinitionBytes, text!.Length);
    }

    [Fact]
    public void ReaderErrorsBecomeTheProblemsErrorsWithTheirLocations()
    {
        var read = WorkflowDefinitionReader.Read("name: hello\nsteps:\n  - id: nap\n    uses: slep\n", WorkflowFormat.Yaml);
        Assert.False(read.IsValid);

        var details = RunRequestTests.AssertProblem(WorkflowProblems.Invalid(read.Errors), 400, WorkflowProblems.WorkflowInvalid);

        var errors = Assert.IsAssignableFrom<IReadOnlyList<WorkflowErrorResponse>>(details.Extensions["errors"]);
        var unknown = Assert.Single(errors, e => e.Code == WorkflowErrorCodes.UnknownStepType);
        Assert.Equal(("steps[0].uses", 4), (unknown.Path, unknown.Line));
        Assert.True(unknown.Column > 0);
    }
}
