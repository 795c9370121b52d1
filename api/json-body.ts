// JSON request bodies: parsed with a size cap, and refused unless declared as JSON.
import express, { type RequestHandler } from 'express';
import { AppError } from '../errors.js';

export const JSON_BODY_LIMIT = '256kb';

export const parseJson: RequestHandler = express.json({ limit: JSON_BODY_LIMIT, strict: true });

/** Routes that take a body accept only application/json. */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json')) {
    throw new AppError('unsupported_media_type', 'send the body as application/json');
  }
  next();
};
