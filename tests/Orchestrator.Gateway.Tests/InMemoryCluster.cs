using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

[CollectionDefinition(Name)]
public sealed class InMemoryCluster : ICollectionFixture<InMemoryClusterFixture>
{
    public const string Name = "in-memory cluster";
}
