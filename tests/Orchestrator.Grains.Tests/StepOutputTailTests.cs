using Orchestrator.Grains.Runs;

namespace Orchestrator.Grains.Tests;

/// <summary>The end of a command's stderr that a failed <c>ssh.exec</c> step quotes in its error.</summary>
public sealed class StepOutputTailTests
{
    [Fact]
    public void TheTailIsTheRealEndOfAStreamLongerThanTheOutputCap()
    {
        var tail = new StepExecutor.TextTail();
        var chunk = new string('x', 64 * 1024);
        // Well past the 1 Mi characters an ssh.exec step keeps in memory for its captures.
        for (var written = 0; written < new WorkflowOptions().MaxCapturedOutputBytes * 3 / 2; written += chunk.Length)
        {
            tail.Append(chunk);
        }

        tail.Append("fatal: the real reason\n");

        var text = tail.ToString();
        Assert.Equal(new string('x', StepExecutor.TextTail.Kept - 23) + "fatal: the real reason", text);
    }

    [Fact]
    public void TheTailOfManySmallChunksIsTheirLastCharacters()
    {
        var tail = new StepExecutor.TextTail();
        var all = new System.Text.StringBuilder();
        for (var i = 0; i < 5000; i++)
        {
            var line = $"line {i}\n";
            tail.Append(line);
            all.Append(line);
        }

        Assert.Equal(all.ToString()[^StepExecutor.TextTail.Kept..].Trim(), tail.ToString());
    }

    [Fact]
    public void AShortStreamIsQuotedWhole()
    {
        var tail = new StepExecutor.TextTail();
        tail.Append("  broken\n");

        Assert.Equal("broken", tail.ToString());
    }
}
