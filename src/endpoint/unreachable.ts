import type { Endpoint } from './endpoint.js';
import { EndpointError } from './errors.js';

/**
 * Stands in for an endpoint that could not be opened: every call fails with the reason, so the
 * run records it against that endpoint and goes on with the others.
 */
export class UnreachableEndpoint implements Endpoint {
  constructor(readonly label: string, private readonly error: EndpointError) {}

  private reject(): Promise<never> {
    return Promise.reject(this.error);
  }

  list = () => this.reject();
  stat = () => this.reject();
  checksums = () => this.reject();
  openRead = () => this.reject();
  readFiles = () => this.reject();
  blockSignatures = () => this.reject();
  openWrite = () => this.reject();
  stageFiles = () => this.reject();
  flush = () => this.reject();
  commit = () => this.reject();
  lock = () => this.reject();
  unlock = () => Promise.resolve();
  removeLeftovers = () => this.reject();
  runHook = () => this.reject();
  close = () => Promise.resolve();
}
