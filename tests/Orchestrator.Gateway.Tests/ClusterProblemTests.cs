using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Gateway.Instances;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Tests;

public sealed class ClusterProblemTests
{
    [Fact]
    public void AClusterThatDoesNotAnswerIsARetryable504AndADepartedSiloA503()
    {
        var timeout = Assert.IsType<ProblemHttpResult>(InstanceProblems.FromException(new TimeoutException("Response did not arrive on time")));
        var departed = Assert.IsType<ProblemHttpResult>(InstanceProblems.FromException(new Orleans.Runtime.SiloUnavailableException("gone")));

        Assert.Equal(StatusCodes.Status504GatewayTimeout, timeout.StatusCode);
        Assert.Equal(InstanceProblems.ClusterTimeout, timeout.ProblemDetails.Type);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, departed.StatusCode);
        Assert.Equal(InstanceProblems.ClusterUnavailable, departed.ProblemDetails.Type);
        Assert.Null(InstanceProblems.FromException(new InvalidOperationException("a bug stays a 500")));
    }

    [Theory]
    [InlineData(UnreachableReasons.Unreachable, InstanceProblems.SshUnreachable)]
    [InlineData(UnreachableReasons.HostKeyMismatch, InstanceProblems.SshHostKeyMismatch)]
    [InlineData(UnreachableReasons.AuthenticationFailed, InstanceProblems.SshAuthenticationFailed)]
    public void SshFailuresAre502WithTheirReason(string reason, string type)
    {
        var problem = Assert.IsType<ProblemHttpResult>(InstanceProblems.FromException(new InstanceUnreachableException(reason, "why")));

        Assert.Equal(StatusCodes.Status502BadGateway, problem.StatusCode);
        Assert.Equal(type, problem.ProblemDetails.Type);
        Assert.Equal(reason, problem.ProblemDetails.Extensions["reason"]);
    }
}
