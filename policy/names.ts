// The name patterns of Kubernetes and Istio objects, one copy for every
// check (metadata, selector, destination, match.source).

/** Namespace, policy name, service in a destination (RFC 1123 label). */
export const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Label key name part and label value (Kubernetes). */
export const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** Label key prefix, destination host (RFC 1123 subdomain). */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A workload's service name as Istio reports it (selector.service, match.source.service). */
export const SERVICE_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
