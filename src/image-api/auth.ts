import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL } from '../api/customimage.ts';
import { withTimeout } from '../kube/api.ts';

export interface Caller {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Who a bearer token belongs to (TokenReview) and what they may do (SubjectAccessReview). */
export class KubeAuthorizer {
  private readonly authn: AuthenticationV1Api;
  private readonly authz: AuthorizationV1Api;
  private readonly timeoutMs: number;
  private readonly audiences: string[] | undefined;

  constructor(kc: KubeConfig, timeoutMs: number, audiences?: string[]) {
    this.authn = kc.makeApiClient(AuthenticationV1Api);
    this.authz = kc.makeApiClient(AuthorizationV1Api);
    this.timeoutMs = timeoutMs;
    this.audiences = audiences;
  }

  /** The caller, or undefined when the token is not valid. */
  async authenticate(token: string): Promise<Caller | undefined> {
    const review = await withTimeout(
      'TokenReview',
      this.timeoutMs,
      this.authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(this.audiences ? { audiences: this.audiences } : {}) } } }),
    );
    const st = review.status;
    if (!st?.authenticated || !st.user?.username) return undefined;
    return { username: st.user.username, ...(st.user.uid ? { uid: st.user.uid } : {}), groups: st.user.groups ?? [], ...(st.user.extra ? { extra: st.user.extra } : {}) };
  }

  async allowed(caller: Caller, verb: string, namespace: string): Promise<boolean> {
    const review = await withTimeout(
      'SubjectAccessReview',
      this.timeoutMs,
      this.authz.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: caller.username,
            groups: caller.groups,
            ...(caller.uid ? { uid: caller.uid } : {}),
            ...(caller.extra ? { extra: caller.extra } : {}),
            resourceAttributes: { group: GROUP, resource: PLURAL, verb, namespace },
          },
        },
      }),
    );
    return review.status?.allowed === true;
  }
}
