using Orchestrator.Testing;

namespace Orchestrator.Grains.Tests;

[CollectionDefinition(Name)]
public sealed class InMemoryCluster : ICollectionFixture<InMemoryClusterFixture>
{
    public const string Name = "in-memory cluster";
}
