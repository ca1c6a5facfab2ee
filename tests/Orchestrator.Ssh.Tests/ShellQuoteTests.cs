using System.Diagnostics;
using System.Text;

namespace Orchestrator.Ssh.Tests;

public sealed class ShellQuoteTests
{
    public static TheoryData<string> NastyValues() =>
    [
        "",
        "plain",
        "a'b",
        "'",
        "''",
        "'\\''",
        "$HOME",
        "${PATH}",
        "`id`",
        "$(id)",
        "a\nb\n",
        "\\",
        "\\n",
        "a\"b",
        "*",
        "-n",
        "!x",
        "; rm -rf /nonexistent",
        "tab\there",
        "ünïcödé ☃ 🚀 日本",
        "\r\n",
    ];

    [Theory]
    [MemberData(nameof(NastyValues))]
    public async Task Quoted_value_reaches_a_real_sh_unchanged(string value)
    {
        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add("printf '%s' " + ShellQuote.Quote(value));
        using var process = Process.Start(startInfo)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(value, output);
    }

    [Fact]
    public void Quote_refuses_nul()
    {
        var exception = Assert.Throws<ArgumentException>(() => ShellQuote.Quote("a\0b", "field"));
        Assert.Equal("field", exception.ParamName);
    }

    [Fact]
    public void Quote_wraps_in_single_quotes()
    {
        Assert.Equal("'it'\\''s'", ShellQuote.Quote("it's"));
    }
}
