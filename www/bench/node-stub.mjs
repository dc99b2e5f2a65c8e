// Stand-in for the Node built-ins `os` and `path`, which rhea's modules require but its codec
// never calls (WORKLOADS.md: "two tiny stubs for os and path").
export default {};
