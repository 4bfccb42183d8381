// Package deploy holds no code: the folder carries Concord's deployment
// artefacts (Dockerfile, compose.yaml, Kubernetes manifests under k8s/,
// OPERATIONS.md).
//
// Its tests (package deploy_test) validate those artefacts with the projects'
// own Go libraries, since no Docker engine or Kubernetes cluster is needed to
// run them: compose.yaml is loaded and schema-checked by compose-go, every
// manifest is decoded strictly into the Kubernetes API types, and the
// Dockerfile is parsed and linted by BuildKit's frontend. On top of syntax,
// the tests check the topology the artefacts must describe: one EventStoreDB
// cluster whose gossip and client connection strings agree, NATS with
// JetStream, the API and worker processes pointed at both, probes, non-root
// pods, resource limits, network policies that let through exactly the
// traffic the system needs, and no secret value in the repository.
package deploy
