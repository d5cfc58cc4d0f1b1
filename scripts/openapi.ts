// Generates api/openapi.json, the contract of the image API (ParallelCluster v3 shapes).
//   node scripts/openapi.ts          write it
//   node scripts/openapi.ts --check  exit 1 if the file in the repo is out of date
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_BUILD_STATUSES } from '../src/api/customimage.ts';
import { AWS_REGIONS } from '../src/domain/regions.ts';

const STACK_STATUSES = [
  'CREATE_IN_PROGRESS', 'CREATE_FAILED', 'CREATE_COMPLETE', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_FAILED', 'ROLLBACK_COMPLETE', 'DELETE_IN_PROGRESS', 'DELETE_FAILED',
  'DELETE_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_FAILED',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE', 'REVIEW_IN_PROGRESS', 'IMPORT_IN_PROGRESS', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_IN_PROGRESS',
  'IMPORT_ROLLBACK_FAILED', 'IMPORT_ROLLBACK_COMPLETE',
];
const ERRORS: Record<number, string> = {
  400: 'BadRequestException: invalid imageId, region, force or imageStatus, or a malformed or oversized body',
  401: 'UnauthorizedClientError: missing or invalid bearer token',
  403: 'Forbidden: the caller may not perform this on customimages',
  404: 'NotFoundException: no image or stack with this id',
  409: 'Conflict: several CustomImages match; give region',
  429: 'LimitExceededException: too many requests',
  500: 'InternalServiceException',
};
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: ERRORS[c], content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } } }]));
const region = { name: 'region', in: 'query', required: false, description: "The AWS Region of the image; the operator's default region otherwise.", schema: { $ref: '#/components/schemas/Region' } };
const imageId = { name: 'imageId', in: 'path', required: true, description: 'The ParallelCluster image id.', schema: { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9-]{0,127}$' } };
const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });

export const document = {
  openapi: '3.0.3',
  info: {
    title: 'pcluster-image-operator image API (ParallelCluster v3 DeleteImage, DescribeImage, ListImages)',
    version: '0.1.0',
    description: 'The ParallelCluster v3 custom image operations, served by the operator and mapped onto CustomImage resources. Authenticate with a Kubernetes bearer token; each call is authorized by a SubjectAccessReview on customimages.',
  },
  security: [{ bearerAuth: [] }],
  paths: {
    '/v3/images/custom': {
      get: {
        operationId: 'listImages',
        summary: 'Retrieve the list of existing custom images.',
        parameters: [
          { name: 'imageStatus', in: 'query', required: true, description: 'AVAILABLE (BUILD_COMPLETE), PENDING (BUILD_IN_PROGRESS, DELETE_IN_PROGRESS) or FAILED (BUILD_FAILED, DELETE_FAILED).', schema: { type: 'string', enum: ['AVAILABLE', 'PENDING', 'FAILED'] } },
          region,
          { name: 'nextToken', in: 'query', required: false, description: 'Token from a previous page (a cursor).', schema: { type: 'string' } },
        ],
        responses: { '200': { description: 'A page of images (at most 50).', content: json('ListImagesResponseContent') }, ...errors(400, 401, 403, 429, 500) },
      },
    },
    '/v3/images/custom/{imageId}': {
      get: {
        operationId: 'describeImage',
        summary: 'Get detailed information about an existing image.',
        parameters: [imageId, region],
        responses: { '200': { description: 'The image.', content: json('DescribeImageResponseContent') }, ...errors(400, 401, 403, 404, 409, 429, 500) },
      },
      delete: {
        operationId: 'deleteImage',
        summary: 'Initiate the deletion of the custom ParallelCluster image.',
        parameters: [imageId, region, { name: 'force', in: 'query', required: false, description: 'Force deletion in case there are instances using the AMI or in case the AMI is shared.', schema: { type: 'boolean', default: false } }],
        requestBody: {
          required: false,
          description: 'force and region as the seed page draws them; query parameters win when both are given.',
          content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { force: { type: 'boolean' }, region: { $ref: '#/components/schemas/Region' } } } } },
        },
        responses: { '202': { description: 'Deletion initiated (or already in progress).', content: json('DeleteImageResponseContent') }, ...errors(400, 401, 403, 404, 409, 429, 500) },
      },
    },
  },
  components: {
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A Kubernetes bearer token (e.g. a ServiceAccount token), validated with TokenReview.' } },
    schemas: {
      ErrorResponse: { type: 'object', required: ['message'], properties: { message: { type: 'string' } } },
      Region: { type: 'string', enum: [...AWS_REGIONS] },
      ImageBuildStatus: { type: 'string', enum: [...IMAGE_BUILD_STATUSES] },
      CloudFormationStackStatus: { type: 'string', enum: STACK_STATUSES },
      Ec2AmiInfoSummary: { type: 'object', required: ['amiId'], properties: { amiId: { type: 'string' } } },
      Ec2AmiInfo: { type: 'object', required: ['amiId'], properties: { amiId: { type: 'string' }, amiName: { type: 'string' }, state: { type: 'string' }, architecture: { type: 'string' }, description: { type: 'string' } } },
      ImageInfoSummary: {
        type: 'object',
        required: ['imageId', 'region', 'version', 'imageBuildStatus'],
        properties: {
          imageId: { type: 'string' },
          ec2AmiInfo: { $ref: '#/components/schemas/Ec2AmiInfoSummary' },
          region: { type: 'string' },
          version: { type: 'string' },
          cloudformationStackArn: { type: 'string' },
          imageBuildStatus: { $ref: '#/components/schemas/ImageBuildStatus' },
          cloudformationStackStatus: { $ref: '#/components/schemas/CloudFormationStackStatus' },
        },
      },
      DeleteImageResponseContent: { type: 'object', required: ['image'], properties: { image: { $ref: '#/components/schemas/ImageInfoSummary' } } },
      DescribeImageResponseContent: {
        type: 'object',
        required: ['imageId', 'region', 'version', 'imageBuildStatus'],
        properties: {
          imageId: { type: 'string' },
          region: { type: 'string' },
          version: { type: 'string' },
          imageBuildStatus: { $ref: '#/components/schemas/ImageBuildStatus' },
          cloudformationStackArn: { type: 'string' },
          cloudformationStackStatus: { $ref: '#/components/schemas/CloudFormationStackStatus' },
          ec2AmiInfo: { $ref: '#/components/schemas/Ec2AmiInfo' },
          message: { type: 'string', description: "The operator's one-sentence status (not in ParallelCluster's shape)." },
        },
      },
      ListImagesResponseContent: { type: 'object', required: ['images'], properties: { images: { type: 'array', items: { $ref: '#/components/schemas/ImageInfoSummary' } }, nextToken: { type: 'string' } } },
    },
  },
};

const file = join(import.meta.dirname, '..', 'api', 'openapi.json');
const text = `${JSON.stringify(document, null, 2)}\n`;
if (import.meta.main) {
  if (process.argv.includes('--check')) {
    if (readFileSync(file, 'utf8') !== text) {
      process.stderr.write('api/openapi.json is out of date: run node scripts/openapi.ts\n');
      process.exit(1);
    }
  } else writeFileSync(file, text);
}
