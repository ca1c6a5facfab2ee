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

    [Fact]
    public void A_secret_cut_between_two_chunks_at_every_offset_is_masked()
    {
        const string secret = "s3cr3t-t0k3n-value";
        const string text = "before " + secret + " after";
        var start = text.IndexOf(secret, StringComparison.Ordinal);

        for (var cut = start; cut <= start + secret.Length; cut++)
        {
            var stream = new Redactor([secret, "other"]).CreateStream();
            var answers = new List<string> { stream.Push(text[..cut]), stream.Push(text[cut..]), stream.Flush() };

            Assert.Equal("before *** after", string.Concat(answers));
            Assert.All(answers, a => Assert.DoesNotContain(secret[..3], a, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_secret_cut_into_three_chunks_anywhere_is_masked()
    {
        const string secret = "pw-12345";
        const string text = "x" + secret + "y" + secret;

        for (var first = 0; first <= text.Length; first++)
        {
            for (var second = first; second <= text.Length; second++)
            {
                var stream = new Redactor([secret]).CreateStream();
                var answers = stream.Push(text[..first]) + stream.Push(text[first..second]) + stream.Push(text[second..]) + stream.Flush();

                Assert.Equal("x***y***", answers);
            }
        }
    }

    [Fact]
    public void A_stream_in_one_character_chunks_is_masked_as_the_whole_text_is()
    {
        var redactor = new Redactor(["tok-123", "hunter2", "it's"]);
        const string text = "login tok-123:hunter2 quoted 'it'\\''s' and tok-12 (not a secret) hunter2";
        var stream = redactor.CreateStream();

        var answers = string.Concat(text.Select(c => stream.Push(c.ToString()))) + stream.Flush();

        Assert.Equal(redactor.Redact(text), answers);
        Assert.Equal("login ***:*** quoted '***' and tok-12 (not a secret) ***", answers);
    }

    [Fact]
    public void A_stream_holds_back_only_what_could_begin_a_secret_and_flushes_it_at_the_end()
    {
        var stream = new Redactor(["abcdef"]).CreateStream();

        Assert.Equal("hello ", stream.Push("hello abcde"));
        Assert.Equal("abcde", stream.Flush());
    }

    [Fact]
    public void A_stream_without_secrets_holds_nothing_back()
    {
        var stream = new Redactor([]).CreateStream();

        Assert.Equal("partial line", stream.Push("partial line"));
        Assert.Equal("", stream.Flush());
    }

    [Fact]
    public void A_stream_never_answers_half_of_a_surrogate_pair()
    {
        var stream = new Redactor(["ab"]).CreateStream();

        var first = stream.Push("x😀");

        Assert.Equal("x", first);
        Assert.Equal("😀", stream.Flush());
    }
}
