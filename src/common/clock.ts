import { Injectable } from '@nestjs/common';

/**
 * The time login windows are judged by. A class of its own so that a test can hold time still:
 * a boundary of one millisecond cannot be tested against a clock that moves while a request travels.
 */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }
}
