using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Workflows.Tests;

public sealed class RedactorTests
{
    [Fact]
    public void Every_secret_and_secret_input_is_masked_in_any_text()
    {
        var context = new ExpressionContext
        {
            RunId = "r",
            Secrets = new Dictionary<string, string> { ["TOKEN"] = "tok-123", ["PASSWORD"] = "hunter2" },
            Inputs = new Dictionary<string, WorkflowValue> { ["api_key"] = new StringValue("key-xyz"), ["branch"] = new StringValue("main") },
            SecretInputs = new HashSet<string> { "api_key" },
        };
        var redactor = context.CreateRedactor();

        var text = redactor.Redact("login tok-123:hunter2 key=key-xyz branch=main again hunter2");

        Assert.Equal("login ***:*** key=*** branch=main again ***", text);
    }

    [Fact]
    public void Secret_is_masked_in_its_shell_quoted_form_in_a_rendered_command()
    {
        const string secret = "it's-secret";
        var context = new ExpressionContext { RunId = "r", Secrets = new Dictionary<string, string> { ["S"] = secret } };
        var command = TemplateRenderer.Render("login --password ${{ secrets.S }}", context, TemplateMode.Shell);

        var redacted = context.CreateRedactor().Redact(command);

        Assert.Equal("login --password '***'", redacted);
        Assert.DoesNotContain("secret", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Longer_secret_containing_a_shorter_one_is_masked_whole()
    {
        var redactor = new Redactor(["abc", "xxabcxx"]);

        Assert.Equal("*** and ***", redactor.Redact("xxabcxx and abc"));
    }

    [Fact]
    public void Empty_secret_masks_nothing()
    {
        var redactor = new Redactor([""]);

        Assert.False(redactor.HasSecrets);
        Assert.Equal("plain text", redactor.Redact("plain text"));
    }
}
