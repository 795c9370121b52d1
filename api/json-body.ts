// JSON request bodies: parsed with a size cap, refused unless declared as JSON, and refused when a
// string anywhere in them holds a character that cannot be stored or shown safely.
import express, { type RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { refuseUnsafeStrings } from '../schemas/text.js';

export const JSON_BODY_LIMIT = '256kb';

export const parseJson: RequestHandler = express.json({ limit: JSON_BODY_LIMIT, strict: true });

/**
 * Routes that take a body accept only application/json, and only bodies whose every string and
 * member name is safe text: a NUL or a lone surrogate would fail in Postgres (as a 500, or in a
 * workflow's activity, retried forever), a control character or a bidi override would reach a
 * screen. The whole body is walked, so loosely typed parts (`z.record(z.string(), z.unknown())`)
 * are covered too; tab and line breaks pass here and field schemas refine further.
 */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json')) {
    throw new AppError('unsupported_media_type', 'send the body as application/json');
  }
  const unsafe = refuseUnsafeStrings(req.body);
  if (unsafe) {
    throw new AppError('schema_invalid', 'the body holds text that cannot be stored safely', [
      unsafe,
    ]);
  }
  next();
};
