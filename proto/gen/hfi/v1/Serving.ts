// Original file: proto/hfi/v1/config_discovery.proto


/**
 * Sent once, when a VM that subscribed with serving = false handles its
 * first HTTP request.
 */
export interface Serving {
}

/**
 * Sent once, when a VM that subscribed with serving = false handles its
 * first HTTP request.
 */
export interface Serving__Output {
}
