using System.Text;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Grains.Tests;

/// <summary>The start of a stream that an <c>ssh.exec</c> step keeps as its <c>stdout</c> or <c>stderr</c> output.</summary>
public sealed class StepOutputHeadTests
{
    [Fact]
    public void OutputWithinTheLimitIsKeptWholeAndNotMarkedTruncated()
    {
        Assert.Equal(("hello\n", false), StepExecutor.OutputHead("hello\n", false, 6));
    }

    [Fact]
    public void LongerOutputKeepsItsFirstBytesAndIsMarkedTruncated()
    {
        var (head, truncated) = StepExecutor.OutputHead(new string('x', 70_000), false, 64 * 1024);

        Assert.Equal(new string('x', 64 * 1024), head);
        Assert.True(truncated);
    }

    [Fact]
    public void TheLimitCountsUtf8BytesAndNeverSplitsACharacter()
    {
        // "é" is 2 bytes, "😀" 4 bytes (a surrogate pair): 2 + 2 + 4 = 8 bytes would not fit in 7.
        var (head, truncated) = StepExecutor.OutputHead("éé😀tail", false, 7);

        Assert.Equal("éé", head);
        Assert.True(truncated);
        Assert.True(Encoding.UTF8.GetByteCount(head) <= 7);
    }

    [Fact]
    public void AStreamAlreadyCutInMemoryStaysMarkedTruncated()
    {
        Assert.Equal(("short", true), StepExecutor.OutputHead("short", true, 64 * 1024));
    }
}
